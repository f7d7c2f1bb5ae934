"""Tests of the DevStack plugin (devstack/settings, devstack/plugin.sh).

DevStack itself cannot run on this machine (it installs and starts a whole
cloud as root with systemd). These tests run the plugin under bash with
stand-ins for DevStack's functions instead: every stand-in
(``iniset``, ``iniadd``, ``run_process``, ``stop_process``,
``configure_keystoneauth``, ``recreate_database`` ...) appends its name and
arguments to a log file, ``is_service_enabled`` and ``enable_service``
follow ``ENABLED_SERVICES`` / ``DISABLED_SERVICES`` as DevStack's do,
``iniget`` answers from a table the test gives (what DevStack wrote in
nova.conf or glance-api-paste.ini before the plugin's ``post-config``),
and the console scripts (``<prog>-manage``, ``<prog>-engine``) are small
scripts that log how they were called. The tests source
``devstack/settings`` and then ``devstack/plugin.sh`` with ``stack
post-config``, ``stack extra`` and ``unstack``, as stack.sh and unstack.sh
do, and check the calls: what an operator would otherwise configure by
hand from the admin guide.

What they cannot show: that the values are right for a real Nova and
Glance; the admin guide's pages and the functional tests against real
peers (image_family_svc/tests/functional/test_end_to_end.py,
reaper_svc/tests/functional/test_real_nova.py) cover that.
"""

import os
import shutil
import subprocess
import tempfile

import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
SETTINGS = os.path.join(REPO, 'devstack', 'settings')
PLUGIN = os.path.join(REPO, 'devstack', 'plugin.sh')
ROUTING_SAMPLE = os.path.join(REPO, 'etc',
                              'arbiter-routing-notifier.yaml.sample')

FILTER_CLASS = 'image_family_svc.hooks.nova_filter.ImageFamilyFilter'
ENGINES = ('limits', 'reaper', 'image-family')
PROGS = ENGINES + ('federation',)

#: DevStack's functions as the plugin uses them, each logging its call.
STAND_INS = r'''
_log() { local IFS=$'\t'; echo "$*" >> "$ARBITER_TEST_LOG"; }
for _f in iniset iniadd iniset_multiline setup_develop recreate_database \
        get_or_create_service get_or_create_endpoint create_service_user \
        run_process stop_process configure_keystone_authtoken_middleware \
        configure_keystoneauth iniset_rpc_backend setup_logging \
        write_uwsgi_config remove_uwsgi_config echo_summary sudo \
        async_wait warn die wait_for_service; do
    eval "function $_f { _log $_f \"\$@\"; }"
done
function is_service_enabled {
    local s
    for s in "$@"; do
        [[ ",$ENABLED_SERVICES," == *",$s,"* ]] && return 0
    done
    return 1
}
function enable_service {
    local s
    for s in "$@"; do
        [[ ",$DISABLED_SERVICES," == *",$s,"* ]] && continue
        is_service_enabled $s || ENABLED_SERVICES+=",$s"
    done
}
function trueorfalse {
    case "${!2:-}" in
        1|[yY]es|YES|[tT]rue|TRUE) echo True ;;
        0|[nN]o|NO|[fF]alse|FALSE) echo False ;;
        *) echo $1 ;;
    esac
}
function _ini_table {
    awk -F'\t' -v f="$1" -v s="$2" -v o="$3" \
        '$1 == f && $2 == s && $3 == o { print $4 }' "$ARBITER_TEST_INI"
}
function iniget { _ini_table "$@"; }
function iniget_multiline { echo $(_ini_table "$@"); }
function get_python_exec_prefix { echo "$ARBITER_TEST_BIN"; }
function database_connection_url { echo "postgresql://127.0.0.1/$1"; }
function which { echo /usr/local/bin/$1; }
function get_notification_url { echo rabbit://stack:secret@10.0.0.5/; }
function generate_hex_string { echo 00112233445566778899aabbccddeeff; }
function conductor_conf { echo "$NOVA_CONF_DIR/nova_cell$1.conf"; }
set -e
source "$ARBITER_DIR/devstack/settings"
for _phase in "$@"; do
    source "$ARBITER_DIR/devstack/plugin.sh" ${_phase/:/ }
done
'''

#: A script that stands for a console script: logs "exec <name> <args>".
CONSOLE_SCRIPT = '''#!/bin/bash
printf 'exec\\t%s' "$(basename "$0")" >> "$ARBITER_TEST_LOG"
printf '\\t%s' "$@" >> "$ARBITER_TEST_LOG"
echo >> "$ARBITER_TEST_LOG"
'''

NOVA = 'keystone,rabbit,placement-api,n-api,n-cond,n-sch,n-cpu,neutron'
GLANCE = 'g-api'

#: glance-api-paste.ini's [composite:api] keystone pipelines (Glance 33).
GLANCE_PIPELINES = {
    'keystone': 'cors http_proxy_to_wsgi versionnegotiation osprofiler '
                'authtoken context rootapp',
    'keystone+caching': 'cors http_proxy_to_wsgi versionnegotiation '
                        'osprofiler authtoken context cache rootapp',
    'keystone+cachemanagement': 'cors http_proxy_to_wsgi versionnegotiation '
                                'osprofiler authtoken context cache '
                                'cachemanage rootapp',
}


class Run(object):
    """The calls one run of the plugin made."""

    def __init__(self, calls, env):
        self.calls = calls
        self.env = env

    def named(self, name):
        return [c[1:] for c in self.calls if c[0] == name]

    def inisets(self, path):
        """``{(section, option): value}`` of the iniset calls on path."""
        return {(c[1], c[2]): c[3] if len(c) > 3 else ''
                for c in self.named('iniset') if c[0] == path}

    def touched(self, path):
        return [c for c in self.calls if len(c) > 1 and c[1] == path]

    def keystoneauth(self, path):
        """``{section: user}`` of configure_keystoneauth on path."""
        return {c[2]: c[1] for c in self.named('configure_keystoneauth')
                if c[0] == path}


class TestDevstackPlugin(testtools.TestCase):

    def setUp(self):
        super(TestDevstackPlugin, self).setUp()
        self.tmp = tempfile.mkdtemp(prefix='arbiter-devstack-')
        self.addCleanup(shutil.rmtree, self.tmp)
        self.bin = os.path.join(self.tmp, 'bin')
        os.mkdir(self.bin)
        for prog in PROGS:
            for kind in ('manage', 'engine'):
                path = os.path.join(self.bin, '%s-%s' % (prog, kind))
                with open(path, 'w') as script:
                    script.write(CONSOLE_SCRIPT)
                os.chmod(path, 0o755)
        self.nova_dir = os.path.join(self.tmp, 'nova')
        os.mkdir(self.nova_dir)
        self.nova_conf = os.path.join(self.nova_dir, 'nova.conf')
        self.cell_conf = os.path.join(self.nova_dir, 'nova_cell1.conf')
        self.glance_conf = '/etc/glance/glance-api.conf'
        self.glance_paste = '/etc/glance/glance-api-paste.ini'
        self.conf_dir = os.path.join(self.tmp, 'arbiter')
        self.routing_file = os.path.join(self.nova_dir,
                                         'arbiter-routing-notifier.yaml')

    def conf(self, prog):
        return os.path.join(self.conf_dir, '%s.conf' % prog)

    def run_plugin(self, services, phases=('stack:post-config', 'stack:extra',
                                           'unstack'),
                   disabled='', ini=None, **settings):
        """Source settings and plugin.sh for each phase; the calls."""
        log = os.path.join(self.tmp, 'calls.log')
        table = os.path.join(self.tmp, 'ini.tsv')
        nova_ini = {(self.nova_conf, 'filter_scheduler', 'enabled_filters'):
                    'ComputeFilter,ImagePropertiesFilter,SameHostFilter',
                    (self.nova_conf, 'notifications', 'notification_format'):
                    'unversioned'}
        nova_ini.update({(self.glance_paste, 'composite:api', flavor): value
                         for flavor, value in GLANCE_PIPELINES.items()})
        nova_ini.update(ini or {})
        with open(table, 'w') as out:
            for (path, section, option), value in nova_ini.items():
                for line in (value if isinstance(value, list) else [value]):
                    out.write('\t'.join((path, section, option, line)) + '\n')
        env = {
            'PATH': os.environ['PATH'], 'HOME': self.tmp,
            'ARBITER_TEST_LOG': log, 'ARBITER_TEST_INI': table,
            'ARBITER_TEST_BIN': self.bin, 'ARBITER_DIR': REPO,
            'ARBITER_CONF_DIR': self.conf_dir,
            'ARBITER_STATE_PATH': os.path.join(self.tmp, 'state'),
            'ENABLED_SERVICES': services, 'DISABLED_SERVICES': disabled,
            'DEST': self.tmp, 'DATA_DIR': os.path.join(self.tmp, 'data'),
            'STACK_USER': 'stack', 'SERVICE_PROTOCOL': 'http',
            'SERVICE_HOST': '10.0.0.5', 'SERVICE_LISTEN_ADDRESS': '0.0.0.0',
            'SERVICE_TIMEOUT': '60', 'REGION_NAME': 'RegionOne',
            'ENABLE_DEBUG_LOG_LEVEL': 'True', 'SERVICE_PASSWORD': 'secret',
            'KEYSTONE_SERVICE_URI': 'http://10.0.0.5/identity',
            'NOVA_CONF_DIR': self.nova_dir, 'NOVA_CONF': self.nova_conf,
            'CELLSV2_SETUP': 'superconductor', 'NOVA_NUM_CELLS': '1',
            'GLANCE_API_CONF': self.glance_conf,
            'GLANCE_API_PASTE_INI': self.glance_paste,
        }
        env.update(settings)
        proc = subprocess.run(
            ['bash', '-c', STAND_INS, 'stand-ins'] + list(phases),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True, timeout=60)
        self.assertEqual(0, proc.returncode, proc.stdout[-3000:])
        with open(log) as calls:
            return Run([line.rstrip('\n').split('\t') for line in calls],
                       env)

    def assert_nova_untouched(self, run):
        self.assertEqual([], run.touched(self.nova_conf))
        self.assertEqual([], run.touched(self.cell_conf))
        self.assertFalse(os.path.exists(self.routing_file))

    def assert_glance_untouched(self, run):
        self.assertEqual([], run.touched(self.glance_conf))
        self.assertEqual([], run.touched(self.glance_paste))

    # -- the script itself ------------------------------------------------

    def test_plugin_and_settings_parse(self):
        for path in (PLUGIN, SETTINGS):
            proc = subprocess.run(['bash', '-n', path],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT,
                                  universal_newlines=True)
            self.assertEqual(0, proc.returncode, proc.stdout)

    # -- engines ----------------------------------------------------------

    def test_every_engine_started_after_its_api_and_stopped(self):
        run = self.run_plugin(NOVA + ',' + GLANCE)
        started = {c[0]: c[1] for c in run.named('run_process')}
        for prog in ENGINES:
            self.assertEqual(
                '%s/%s-engine --config-file %s'
                % (self.bin, prog, self.conf(prog)),
                started['arbiter-%s-engine' % prog])
        self.assertNotIn('arbiter-federation-engine', started)
        order = [c[0] for c in run.named('run_process')]
        for prog in ENGINES:
            self.assertLess(order.index('arbiter-%s' % prog),
                            order.index('arbiter-%s-engine' % prog))
        stopped = [c[0] for c in run.named('stop_process')]
        for prog in ENGINES:
            self.assertIn('arbiter-%s-engine' % prog, stopped)
        for prog in PROGS:
            self.assertIn('arbiter-%s' % prog, stopped)
        # Every database is created and synced at post-config.
        synced = [c[0] for c in run.named('exec') if c[3:] == ['db', 'sync']]
        self.assertEqual(['%s-manage' % p for p in PROGS], synced)

    def test_disabled_engine_or_service_not_started(self):
        run = self.run_plugin(
            'keystone,rabbit',
            disabled='arbiter-reaper-engine,arbiter-image-family')
        started = [c[0] for c in run.named('run_process')]
        self.assertIn('arbiter-reaper', started)
        self.assertNotIn('arbiter-reaper-engine', started)
        self.assertNotIn('arbiter-image-family', started)
        self.assertNotIn('arbiter-image-family-engine', started)
        self.assertIn('arbiter-limits-engine', started)

    def test_engine_conf_with_nova_and_glance(self):
        run = self.run_plugin(NOVA + ',' + GLANCE + ',c-api',
                              ARBITER_COORDINATION_URL='redis://10.0.0.5')
        reaper = run.inisets(self.conf('reaper'))
        self.assertEqual('openstack', reaper['preemption', 'driver'])
        self.assertEqual({'nova': 'arbiter', 'placement': 'arbiter'},
                         run.keystoneauth(self.conf('reaper')))
        self.assertEqual('RegionOne', reaper['nova', 'region_name'])
        self.assertEqual('http://10.0.0.5/identity/v3',
                         reaper['trustee', 'auth_url'])
        self.assertEqual('arbiter', reaper['trustee', 'username'])
        self.assertEqual('secret', reaper['trustee', 'password'])
        self.assertEqual('redis://10.0.0.5',
                         reaper['coordination', 'backend_url'])
        family = run.inisets(self.conf('image-family'))
        self.assertEqual('glance', family['image_family', 'glance_driver'])
        self.assertNotIn(('image_family', 'usage_reconcile_interval'),
                         family)
        self.assertEqual({'cinder': 'arbiter', 'glance': 'arbiter',
                          'nova': 'arbiter'},
                         run.keystoneauth(self.conf('image-family')))
        # The engines act on every project's servers and images.
        self.assertIn(['arbiter', 'admin'], run.named('create_service_user'))

    def test_engine_conf_without_nova_or_glance(self):
        run = self.run_plugin('keystone,rabbit')
        reaper = run.inisets(self.conf('reaper'))
        self.assertEqual('simulated', reaper['preemption', 'driver'])
        self.assertNotIn('nova', run.keystoneauth(self.conf('reaper')))
        family = run.inisets(self.conf('image-family'))
        self.assertEqual('noop', family['image_family', 'glance_driver'])
        self.assertEqual('0',
                         family['image_family', 'usage_reconcile_interval'])
        self.assertEqual({}, run.keystoneauth(self.conf('image-family')))
        self.assert_nova_untouched(run)
        self.assert_glance_untouched(run)

    def test_simulated_cloud_setting(self):
        run = self.run_plugin(NOVA, ARBITER_REAPER_DRIVER='simulated',
                              ARBITER_REAPER_SIMULATED_CLOUD='/etc/cloud.yaml')
        reaper = run.inisets(self.conf('reaper'))
        self.assertEqual('simulated', reaper['preemption', 'driver'])
        self.assertEqual('/etc/cloud.yaml',
                         reaper['preemption', 'simulated_cloud'])

    # -- Nova ---------------------------------------------------------------

    def test_nova_routing_notifier_for_the_reaper(self):
        run = self.run_plugin(NOVA)
        for conf in (self.nova_conf, self.cell_conf):
            nova = run.inisets(conf)
            self.assertEqual('arbiter-routing',
                             nova['oslo_messaging_notifications', 'driver'])
            self.assertEqual('notifications',
                             nova['oslo_messaging_notifications', 'topics'])
            self.assertEqual(self.routing_file,
                             nova['arbiter_routing_notifier',
                                  'routing_config'])
            self.assertEqual('versioned',
                             nova['notifications', 'notification_format'])
        self.assertEqual(
            'rabbit://stack:secret@10.0.0.5/',
            run.inisets(self.cell_conf)['oslo_messaging_notifications',
                                        'transport_url'])
        with open(self.routing_file) as installed, \
                open(ROUTING_SAMPLE) as sample:
            self.assertEqual(sample.read(), installed.read())
        # nova.conf is not rewritten while configure_neutron_nova runs.
        self.assertIn(['configure_neutron_nova'], run.named('async_wait'))

    def test_nova_filter_appended_to_existing_filters(self):
        run = self.run_plugin(NOVA)
        nova = run.inisets(self.nova_conf)
        self.assertEqual(
            'ComputeFilter,ImagePropertiesFilter,SameHostFilter,'
            'ImageFamilyFilter',
            nova['filter_scheduler', 'enabled_filters'])
        self.assertIn([self.nova_conf, 'filter_scheduler',
                       'available_filters',
                       'nova.scheduler.filters.all_filters', FILTER_CLASS],
                      run.named('iniadd'))
        self.assertEqual('nova', run.keystoneauth(self.nova_conf)[
            'image_family_filter'])

    def test_nova_filter_not_added_twice(self):
        run = self.run_plugin(NOVA, ini={
            (self.nova_conf, 'filter_scheduler', 'enabled_filters'):
            'ComputeFilter,ImageFamilyFilter',
            (self.nova_conf, 'filter_scheduler', 'available_filters'):
            ['nova.scheduler.filters.all_filters', FILTER_CLASS]})
        self.assertNotIn(('filter_scheduler', 'enabled_filters'),
                         run.inisets(self.nova_conf))
        self.assertEqual([], [c for c in run.named('iniadd')
                              if c[2] == 'available_filters'])

    def test_nova_filter_kept_available_filters(self):
        run = self.run_plugin(NOVA, ini={
            (self.nova_conf, 'filter_scheduler', 'available_filters'):
            ['nova.scheduler.filters.all_filters', 'my.Filter']})
        self.assertIn([self.nova_conf, 'filter_scheduler',
                       'available_filters', FILTER_CLASS],
                      run.named('iniadd'))

    def test_nova_filter_without_devstack_filters(self):
        run = self.run_plugin(NOVA, ini={
            (self.nova_conf, 'filter_scheduler', 'enabled_filters'): ''})
        self.assertEqual(
            'ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,'
            'ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter,'
            'ImageFamilyFilter',
            run.inisets(self.nova_conf)['filter_scheduler',
                                        'enabled_filters'])

    def test_nova_both_format_kept(self):
        run = self.run_plugin(NOVA, ini={
            (self.nova_conf, 'notifications', 'notification_format'):
            'both'})
        self.assertEqual('both', run.inisets(self.nova_conf)[
            'notifications', 'notification_format'])

    def test_nova_both_formats_with_ceilometer(self):
        run = self.run_plugin(NOVA + ',ceilometer')
        self.assertEqual('both', run.inisets(self.nova_conf)[
            'notifications', 'notification_format'])

    def test_nova_image_family_only(self):
        run = self.run_plugin(NOVA, disabled='arbiter-reaper')
        nova = run.inisets(self.nova_conf)
        self.assertEqual('messagingv2',
                         nova['oslo_messaging_notifications', 'driver'])
        self.assertNotIn(('arbiter_routing_notifier', 'routing_config'), nova)
        self.assertEqual('versioned',
                         nova['notifications', 'notification_format'])
        self.assertIn('ImageFamilyFilter',
                      nova['filter_scheduler', 'enabled_filters'])
        self.assertFalse(os.path.exists(self.routing_file))

    def test_nova_reaper_only(self):
        run = self.run_plugin(NOVA, disabled='arbiter-image-family')
        nova = run.inisets(self.nova_conf)
        self.assertEqual('arbiter-routing',
                         nova['oslo_messaging_notifications', 'driver'])
        self.assertNotIn(('filter_scheduler', 'enabled_filters'), nova)
        self.assertEqual([], run.named('iniadd'))
        self.assertNotIn('image_family_filter',
                         run.keystoneauth(self.nova_conf))

    def test_nova_untouched_without_reaper_and_image_family(self):
        run = self.run_plugin(NOVA + ',' + GLANCE,
                              disabled='arbiter-reaper,arbiter-image-family')
        self.assert_nova_untouched(run)
        self.assert_glance_untouched(run)

    def test_nova_untouched_when_hooks_off(self):
        run = self.run_plugin(NOVA + ',' + GLANCE, ARBITER_NOVA_HOOKS='False',
                              ARBITER_GLANCE_HOOKS='False')
        self.assert_nova_untouched(run)
        self.assert_glance_untouched(run)

    def test_single_cell_conductor_has_no_cell_conf(self):
        run = self.run_plugin(NOVA, CELLSV2_SETUP='singleconductor')
        self.assertEqual([], run.touched(self.cell_conf))
        self.assertEqual('arbiter-routing', run.inisets(self.nova_conf)[
            'oslo_messaging_notifications', 'driver'])

    # -- Glance -------------------------------------------------------------

    def test_glance_middleware_after_authtoken(self):
        run = self.run_plugin(NOVA + ',' + GLANCE)
        paste = run.inisets(self.glance_paste)
        self.assertEqual(
            'image_family_svc.hooks.glance_middleware:filter_factory',
            paste['filter:image_family', 'paste.filter_factory'])
        for flavor, pipeline in GLANCE_PIPELINES.items():
            self.assertEqual(
                pipeline.replace('authtoken context',
                                 'authtoken image_family context'),
                paste['composite:api', flavor])
        glance = run.inisets(self.glance_conf)
        self.assertEqual('messagingv2',
                         glance['oslo_messaging_notifications', 'driver'])
        self.assertEqual('glance', run.keystoneauth(self.glance_conf)[
            'image_family_middleware'])

    def test_glance_middleware_not_added_twice(self):
        already = GLANCE_PIPELINES['keystone'].replace(
            'authtoken', 'authtoken image_family')
        run = self.run_plugin(GLANCE, ini={
            (self.glance_paste, 'composite:api', 'keystone'): already})
        paste = run.inisets(self.glance_paste)
        self.assertNotIn(('composite:api', 'keystone'), paste)
        self.assertIn(('composite:api', 'keystone+caching'), paste)

    def test_glance_without_image_family(self):
        run = self.run_plugin(GLANCE, disabled='arbiter-image-family')
        self.assert_glance_untouched(run)

    def test_glance_alone_leaves_nova(self):
        run = self.run_plugin('keystone,rabbit,' + GLANCE)
        self.assert_nova_untouched(run)
        self.assertIn(('filter:image_family', 'paste.filter_factory'),
                      run.inisets(self.glance_paste))

    # -- federation ---------------------------------------------------------

    def test_federation_keys_and_issuer(self):
        run = self.run_plugin('keystone,rabbit')
        execs = [c for c in run.named('exec')
                 if c[0] == 'federation-manage']
        self.assertEqual(
            [['federation-manage', '--config-file', self.conf('federation'),
              'db', 'sync'],
             ['federation-manage', '--config-file', self.conf('federation'),
              'keys', 'rotate']], execs)
        federation = run.inisets(self.conf('federation'))
        self.assertEqual('http://10.0.0.5:9873',
                         federation['federation', 'issuer'])
        self.assertTrue(federation['federation', 'secret_key'])

    def test_federation_issuer_setting(self):
        run = self.run_plugin('keystone,rabbit',
                              ARBITER_FEDERATION_ISSUER='https://aai.example')
        self.assertEqual('https://aai.example', run.inisets(
            self.conf('federation'))['federation', 'issuer'])

    # -- databases --------------------------------------------------------

    def test_mysql_devstack_gets_sqlite_files(self):
        """DevStack's default database is MySQL, which every service
        refuses at start ("<prog>-manage db sync" exited 1 and stack.sh
        died): the services get an SQLite file each instead."""
        run = self.run_plugin('keystone,rabbit,mysql', DATABASE_TYPE='mysql')
        state = run.env['ARBITER_STATE_PATH']
        for prog in PROGS:
            self.assertEqual(
                'sqlite:///%s/%s.sqlite' % (state, prog),
                run.inisets(self.conf(prog))['database', 'connection'])
        self.assertEqual([], run.named('recreate_database'))

    def test_postgresql_devstack_gets_databases(self):
        run = self.run_plugin('keystone,rabbit,postgresql',
                              DATABASE_TYPE='postgresql')
        for prog in PROGS:
            name = 'arbiter_%s' % prog.replace('-', '_')
            self.assertEqual(
                'postgresql://127.0.0.1/%s' % name,
                run.inisets(self.conf(prog))['database', 'connection'])
        self.assertEqual([['arbiter_%s' % p.replace('-', '_')]
                          for p in PROGS], run.named('recreate_database'))

    # -- uwsgi ------------------------------------------------------------

    def test_uwsgi_names_the_configuration_file(self):
        """The WSGI applications read /etc/arbiter/<prog>.conf unless
        ARBITER_<PROG>_CONFIG names another file: with ARBITER_CONF_DIR
        set elsewhere, the APIs under uwsgi read no configuration (an
        SQLite file under /var/lib/arbiter, no [keystone_authtoken])
        while the engines read the plugin's files."""
        run = self.run_plugin('keystone,rabbit')
        for prog in PROGS:
            uwsgi = os.path.join(self.conf_dir, '%s-uwsgi.ini' % prog)
            variable = 'ARBITER_%s_CONFIG' % prog.upper().replace('-', '_')
            self.assertEqual('%s=%s' % (variable, self.conf(prog)),
                             run.inisets(uwsgi)['uwsgi', 'env'])
