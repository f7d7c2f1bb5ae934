# Sphinx configuration of Arbiter's documentation.
#
# Build with:  tox -e docs
# (or: sphinx-build -W -b html doc/source doc/build/html)
#
# The oslo extensions render each service's configuration options
# (``.. show-options::``) and policy defaults (``.. show-policy::``) from
# the code, through the entry points in setup.cfg, so the reference can
# never drift from what the services register.

extensions = [
    'oslo_config.sphinxext',
    'oslo_policy.sphinxext',
]

project = 'Arbiter'
copyright = 'Arbiter developers'
author = 'Arbiter developers'

try:
    from pbr import version as pbr_version
    release = pbr_version.VersionInfo('arbiter').release_string()
except Exception:  # not installed: build the text anyway
    release = ''
version = release

master_doc = 'index'
exclude_patterns = ['_build']
pygments_style = 'sphinx'
html_theme = 'alabaster'
html_theme_options = {
    'description': 'Quotas, preemption, image families and federation '
                   'for shared OpenStack clouds',
    'show_relbars': True,
}
html_static_path = []
