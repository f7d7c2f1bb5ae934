"""Formattable columns of the limits commands.

Each prints compactly in a table and keeps the raw value for ``-f json``
and ``-f yaml``.
"""

from cliff import columns


def limit_text(value):
    return 'unlimited' if value == -1 else str(value)


def blocking_line(level):
    """One blocking level of an over-limit answer, for a person."""
    return ('%s in %s: %s limit %s, usage %s, requested %+d'
            % (level['resource'], level['project_id'], level['scope'],
               limit_text(level['limit']), level['usage'], level['delta']))


class ResourcesColumn(columns.FormattableColumn):
    """``{name: amount}`` as ``cores=4, ram=512``."""

    def human_readable(self):
        return ', '.join('%s=%s' % (name, self._value[name])
                         for name in sorted(self._value or {}))

    def machine_readable(self):
        return dict(self._value or {})


class BlockingColumn(columns.FormattableColumn):
    """The blocking levels of a refused check, one line each."""

    def human_readable(self):
        return '\n'.join(blocking_line(level)
                         for level in self._value or ())

    def machine_readable(self):
        return [dict(level) for level in self._value or ()]


class TreeProjectColumn(columns.FormattableColumn):
    """A project of a tree report, indented two spaces per level.

    The value is ``(depth, project_id)``; machine formats get the ID.
    """

    def human_readable(self):
        depth, project_id = self._value
        return '  ' * depth + project_id

    def machine_readable(self):
        return self._value[1]


class UsageCellColumn(columns.FormattableColumn):
    """One resource at one project of a tree report.

    ``used/limit`` of the project's own usage against its own limit, and,
    where the project carries a subtree limit, ``subtree used/limit`` of
    the whole subtree's usage against it.
    """

    def human_readable(self):
        cell = self._value
        if not cell:
            return ''
        text = '%s/%s' % (cell['own_usage'], limit_text(cell['own_limit']))
        if cell.get('subtree_limit') is not None:
            text += ', subtree %s/%s' % (cell['subtree_usage'],
                                         limit_text(cell['subtree_limit']))
        return text

    def machine_readable(self):
        return dict(self._value or {})
