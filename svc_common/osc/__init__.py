"""What every Arbiter ``openstack`` CLI plugin shares:
:mod:`~svc_common.osc.plugin` (the client, the global options) and
:mod:`~svc_common.osc.command` (command bases), so that a service's
``osc/`` holds only its commands."""
