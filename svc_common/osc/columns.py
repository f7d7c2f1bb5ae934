"""How the dicts and lists of API answers print in ``openstack`` output.

A cell of a table is read by a person: a dict or a list in it printed as
Python's repr (``{'servers': 0}``, ``['batch-1']``) told them nothing
that osc-lib's formatters do not say better.  :func:`readable` wraps
such a value in a formattable column built on osc-lib's
(:mod:`osc_lib.cli.format_columns`):

* a dict prints as ``key='value', ...`` (nested dicts as
  ``outer.inner='value'``; members that are None or empty left out), as
  ``openstack server show`` prints properties;
* a list of plain values prints as ``a, b`` (sorted, as osc-lib does);
* a list of dicts prints one dict a line.

osc-lib's dict formatter prints a list inside a dict with ``str()``, a
Python repr again; those lists are joined first (``networks='net-1,
net-2'``).  ``-f json`` and ``-f yaml`` still get the structures
(``machine_readable``), and ``-f value``, ``csv`` and ``shell`` one line
of JSON (:class:`JsonColumn`).
"""

import json

from cliff import columns
from osc_lib.cli import format_columns
from osc_lib import utils as osc_utils


def _plain(value):
    return not isinstance(value, (dict, list, tuple))


def _unset(value):
    return value is None or (not _plain(value) and not value)


def _members_as_text(value):
    """``value`` (a dict) with the lists it holds, at any depth, turned
    into text, so that osc-lib's format_dict prints no repr, and without
    the members that are not set (None, an empty list or dict), which
    osc-lib prints as ``key=`` and ``key=''``: a table shows what a dict
    says, ``-f json`` all of it."""
    if isinstance(value, dict):
        return {key: _members_as_text(member)
                for key, member in value.items() if not _unset(member)}
    if isinstance(value, (list, tuple)):
        if all(_plain(item) for item in value):
            return ', '.join(str(item) for item in value)
        return json.dumps(value, sort_keys=True)
    return value


class JsonColumn(columns.FormattableColumn):
    """A dict or list cell as one line of JSON (``-f value``, ``csv``,
    ``shell``: one line per cell, which ``jq`` reads)."""

    def human_readable(self):
        return json.dumps(self._value, sort_keys=True)

    def machine_readable(self):
        return self.human_readable()


class IndentedJsonColumn(columns.FormattableColumn):
    """A document that people read as JSON (a JSON schema; a list of
    lists), indented, in its own key order; ``-f json`` and ``yaml`` get
    the structure."""

    def human_readable(self):
        if self._value is None:
            return 'None'
        return json.dumps(self._value, indent=2)

    def machine_readable(self):
        return self._value


class DictColumn(format_columns.DictColumn):
    """A dict as ``key='value', ...`` (osc-lib's), lists inside it
    joined."""

    def human_readable(self):
        return osc_utils.format_dict(_members_as_text(self._value or {}))


class ListColumn(format_columns.ListColumn):
    """A list of plain values as ``a, b`` (osc-lib's; numbers too)."""

    def human_readable(self):
        return osc_utils.format_list(
            [str(item) for item in self._value or ()]) or ''


class ListDictColumn(format_columns.ListDictColumn):
    """A list of dicts, one ``key='value', ...`` line each."""

    def human_readable(self):
        return '\n'.join(osc_utils.format_dict(_members_as_text(item))
                         for item in self._value or ())


def readable(value):
    """``value`` as a table shows it: a dict or list wrapped in one of
    the columns above; anything else (a formattable column already, a
    string, a number, None) as it is."""
    if isinstance(value, dict):
        return DictColumn(value)
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(item, dict) for item in value):
            return ListDictColumn(value)
        if all(_plain(item) for item in value):
            return ListColumn(value)
        return IndentedJsonColumn(value)
    return value
