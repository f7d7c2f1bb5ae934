"""Console scripts of Arbiter services.

eventlet is imported whenever it is installed, whatever Arbiter does:
futurist (used by oslo.messaging) tries ``import eventlet`` at import
time, and oslo.service loads its default eventlet backend when
oslo.messaging imports it (the threading backend needs cotyledon, which
Arbiter does not install).  Arbiter itself never uses eventlet.  Each
such import prints eventlet's ``EventletDeprecationWarning``, a notice for
projects that use eventlet, so the console scripts filter out that one
warning, by its message, before any of these imports happen.
"""

import warnings

warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
