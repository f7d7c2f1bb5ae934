# Sphinx configuration of Arbiter's release notes.
#
# Build with:  tox -e releasenotes
# (or: sphinx-build -W -b html releasenotes/source releasenotes/build/html)
#
# reno's extension reads the notes from the git history, so this must be
# built inside a git clone of the repository.

extensions = [
    'reno.sphinxext',
]

project = 'Arbiter Release Notes'
copyright = 'Arbiter developers'
author = 'Arbiter developers'

# Release notes are not versioned with the code.
version = ''
release = ''

master_doc = 'index'
exclude_patterns = ['_build']
pygments_style = 'sphinx'
html_theme = 'alabaster'
html_static_path = []
