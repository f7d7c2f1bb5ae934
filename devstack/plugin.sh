#!/bin/bash
#
# DevStack plugin of Arbiter: installs, configures and runs the four
# services (limits, reaper, image-family, federation), each under uwsgi on
# its own port, registered in Keystone under its service type, and the
# engines of those that have one. When Nova or Glance run in the same
# DevStack, it also configures the hooks through which they call Arbiter:
# the arbiter-routing notifier and notification format in nova.conf (for
# the reaper), the ImageFamilyFilter in Nova's scheduler, the image_family
# middleware in Glance's paste pipeline and Glance's notifications (for
# the image families).
#
# Phases: stack install | post-config | extra, unstack, clean.
# Defaults are in devstack/settings.

# Save trace setting
_XTRACE_ARBITER=$(set +o | grep xtrace)
set -o xtrace

# Every service the plugin knows, by prog (the prefix of its commands and
# config file).
ARBITER_PROGS="limits reaper image-family federation"

# Facts about one prog
# --------------------

function _arbiter_package {
    case $1 in
        limits) echo limits_svc ;;
        reaper) echo reaper_svc ;;
        image-family) echo image_family_svc ;;
        federation) echo federation_proxy ;;
    esac
}

function _arbiter_service_type {
    case $1 in
        limits) echo limits ;;
        reaper) echo preemption ;;
        image-family) echo image-family ;;
        federation) echo federation ;;
    esac
}

function _arbiter_port {
    case $1 in
        limits) echo $ARBITER_LIMITS_PORT ;;
        reaper) echo $ARBITER_REAPER_PORT ;;
        image-family) echo $ARBITER_IMAGE_FAMILY_PORT ;;
        federation) echo $ARBITER_FEDERATION_PORT ;;
    esac
}

function _arbiter_description {
    case $1 in
        limits) echo "Arbiter hierarchical limits" ;;
        reaper) echo "Arbiter preemptible instances" ;;
        image-family) echo "Arbiter image families" ;;
        federation) echo "Arbiter federation proxy" ;;
    esac
}

# The devstack service name, as in enable_service / run_process.
function _arbiter_devstack_name {
    echo "arbiter-$1"
}

# Whether the prog has an engine (a <prog>-engine console script).
function _arbiter_has_engine {
    case $1 in
        limits|reaper|image-family) return 0 ;;
        *) return 1 ;;
    esac
}

# The devstack service name of the prog's engine.
function _arbiter_engine_name {
    echo "arbiter-$1-engine"
}

function _arbiter_db_name {
    echo "arbiter_${1//-/_}"
}

# The database the services use: DevStack's own when it is PostgreSQL,
# otherwise (MySQL, DevStack's default, which the services refuse at
# start) an SQLite file per service under the state path.
function _arbiter_database_type {
    if [[ "$DATABASE_TYPE" == "postgresql" ]]; then
        echo postgresql
    else
        echo sqlite
    fi
}

function _arbiter_sqlite_file {
    echo "$ARBITER_STATE_PATH/$1.sqlite"
}

# _arbiter_database_url <prog> - [database] connection of the prog
function _arbiter_database_url {
    if [[ "$(_arbiter_database_type)" == "postgresql" ]]; then
        database_connection_url $(_arbiter_db_name $1)
    else
        echo "sqlite:///$(_arbiter_sqlite_file $1)"
    fi
}

function _arbiter_conf {
    echo "$ARBITER_CONF_DIR/$1.conf"
}

function _arbiter_uwsgi_conf {
    echo "$ARBITER_CONF_DIR/$1-uwsgi.ini"
}

# The environment variable that names the prog's configuration file to
# its WSGI application (ARBITER_IMAGE_FAMILY_CONFIG ...).
function _arbiter_config_variable {
    local name=${1^^}
    echo "ARBITER_${name//-/_}_CONFIG"
}

function _arbiter_url {
    echo "$ARBITER_SERVICE_PROTOCOL://$ARBITER_SERVICE_HOST:$(_arbiter_port $1)"
}

# The progs whose devstack service is enabled.
function _arbiter_enabled_progs {
    local prog
    for prog in $ARBITER_PROGS; do
        if is_service_enabled $(_arbiter_devstack_name $prog); then
            echo $prog
        fi
    done
}

# The enabled progs whose engine is enabled too.
function _arbiter_enabled_engines {
    local prog
    for prog in $(_arbiter_enabled_progs); do
        if _arbiter_has_engine $prog && \
                is_service_enabled $(_arbiter_engine_name $prog); then
            echo $prog
        fi
    done
}

# Whether a Nova service that sends notifications or schedules runs here.
function _arbiter_nova_enabled {
    is_service_enabled n-api n-cond n-super-cond n-sch n-cpu
}

# _arbiter_keystoneauth <conf> <section> [user] - keystoneauth1 password
# options of a client group (the arbiter user by default), in the region
function _arbiter_keystoneauth {
    local conf=$1
    local section=$2
    local user=${3:-$ARBITER_SERVICE_USER}
    configure_keystoneauth $conf $user $section
    iniset $conf $section region_name "$REGION_NAME"
}

# Phases
# ------

# install_arbiter - pip install the repository (editable)
function install_arbiter {
    setup_develop $ARBITER_DIR
}

# configure_arbiter_prog <prog> - write <prog>.conf and its uwsgi file
function configure_arbiter_prog {
    local prog=$1
    local conf
    conf=$(_arbiter_conf $prog)
    local listen=$ARBITER_SERVICE_LISTEN_ADDRESS
    if [[ "$listen" == *:* ]]; then
        listen="[$listen]"
    fi

    rm -f $conf
    iniset $conf DEFAULT debug "$ENABLE_DEBUG_LOG_LEVEL"
    iniset $conf DEFAULT state_path "$ARBITER_STATE_PATH"
    iniset $conf api auth_strategy "$ARBITER_AUTH_STRATEGY"
    iniset $conf api port "$(_arbiter_port $prog)"
    iniset $conf database connection "$(_arbiter_database_url $prog)"
    configure_keystone_authtoken_middleware $conf $ARBITER_SERVICE_USER keystone_authtoken "$(_arbiter_service_type $prog)"
    iniset_rpc_backend arbiter $conf
    if is_service_enabled rabbit; then
        iniset $conf oslo_messaging_notifications driver "$ARBITER_NOTIFICATION_DRIVER"
    else
        iniset $conf oslo_messaging_notifications driver noop
    fi
    if _arbiter_has_engine $prog && [[ -n "$ARBITER_COORDINATION_URL" ]]; then
        iniset $conf coordination backend_url "$ARBITER_COORDINATION_URL"
    fi
    case $prog in
        reaper) configure_arbiter_reaper $conf ;;
        image-family) configure_arbiter_image_family $conf ;;
        federation) configure_arbiter_federation $conf ;;
    esac
    setup_logging $conf

    write_uwsgi_config "$(_arbiter_uwsgi_conf $prog)" \
        "$(_arbiter_package $prog).wsgi:application" "" \
        "$listen:$(_arbiter_port $prog)" "$(_arbiter_devstack_name $prog)"
    # The application reads /etc/arbiter/<prog>.conf unless the
    # environment names its file: name it, wherever ARBITER_CONF_DIR is.
    iniset "$(_arbiter_uwsgi_conf $prog)" uwsgi env \
        "$(_arbiter_config_variable $prog)=$conf"
}

# configure_arbiter_reaper <conf> - the cloud driver of reaper-engine and
# the trustee (the arbiter user) of the pending requests' trusts
function configure_arbiter_reaper {
    local conf=$1
    local driver=$ARBITER_REAPER_DRIVER
    if [[ -z "$driver" ]]; then
        if _arbiter_nova_enabled && is_service_enabled placement-api placement-client; then
            driver=openstack
        else
            driver=simulated
        fi
    fi
    iniset $conf preemption driver $driver
    if [[ "$driver" == "openstack" ]]; then
        # Nova's admin rights (every project's servers; lock, stop,
        # delete) and Placement's read access: the admin role that
        # configure_arbiter gives the arbiter user.
        _arbiter_keystoneauth $conf nova
        _arbiter_keystoneauth $conf placement
    elif [[ -n "$ARBITER_REAPER_SIMULATED_CLOUD" ]]; then
        iniset $conf preemption simulated_cloud "$ARBITER_REAPER_SIMULATED_CLOUD"
    fi
    if is_service_enabled keystone; then
        iniset $conf trustee auth_url "$KEYSTONE_SERVICE_URI/v3"
        iniset $conf trustee username "$ARBITER_SERVICE_USER"
        iniset $conf trustee password "$SERVICE_PASSWORD"
        iniset $conf trustee user_domain_id default
    fi
}

# configure_arbiter_image_family <conf> - the Glance driver and the Nova
# (and Cinder) clients of the usage reconciliation
function configure_arbiter_image_family {
    local conf=$1
    local driver=$ARBITER_IMAGE_FAMILY_GLANCE_DRIVER
    if [[ -z "$driver" ]]; then
        if is_service_enabled g-api; then
            driver=glance
        else
            driver=noop
        fi
    fi
    iniset $conf image_family glance_driver $driver
    if [[ "$driver" == "glance" ]]; then
        _arbiter_keystoneauth $conf glance
    fi
    if is_service_enabled n-api; then
        _arbiter_keystoneauth $conf nova
    else
        # Nothing to reconcile the usage counts with.
        iniset $conf image_family usage_reconcile_interval 0
    fi
    if is_service_enabled c-api; then
        _arbiter_keystoneauth $conf cinder
    fi
}

# configure_arbiter_federation <conf> - the OIDC issuer and the key that
# encrypts the upstream IdPs' client secrets
function configure_arbiter_federation {
    local conf=$1
    iniset $conf federation issuer \
        "${ARBITER_FEDERATION_ISSUER:-$(_arbiter_url federation)}"
    iniset $conf federation secret_key "$(generate_hex_string 32)"
}

# init_arbiter_prog <prog> - create the database and its schema
function init_arbiter_prog {
    local prog=$1
    local conf file
    conf=$(_arbiter_conf $prog)
    if [[ "$(_arbiter_database_type)" == "postgresql" ]]; then
        recreate_database $(_arbiter_db_name $prog)
    else
        # A fresh file, as recreate_database gives a fresh database.
        file=$(_arbiter_sqlite_file $prog)
        rm -f $file $file-wal $file-shm
    fi
    $ARBITER_BIN_DIR/$prog-manage --config-file $conf db sync
    if [[ "$prog" == "federation" ]]; then
        # The OIDC provider's signing keys: on an empty database the
        # first rotation makes the current and the next key.
        $ARBITER_BIN_DIR/federation-manage --config-file $conf keys rotate
    fi
}

# create_arbiter_accounts_prog <prog> - Keystone service and endpoints
function create_arbiter_accounts_prog {
    local prog=$1
    local url
    url=$(_arbiter_url $prog)
    get_or_create_service "$(_arbiter_devstack_name $prog)" \
        "$(_arbiter_service_type $prog)" "$(_arbiter_description $prog)"
    get_or_create_endpoint "$(_arbiter_service_type $prog)" \
        "$REGION_NAME" "$url" "$url" "$url"
}

# The nova.conf files of the Nova services that send notifications:
# nova.conf (API, scheduler, superconductor; nova-cpu.conf is copied from
# it when nova-compute starts) and, with a conductor per cell, each cell
# conductor's file.
function _arbiter_nova_notifying_confs {
    echo $NOVA_CONF
    if is_service_enabled n-cond && \
            [[ "$CELLSV2_SETUP" != "singleconductor" ]]; then
        local i
        for i in $(seq 1 ${NOVA_NUM_CELLS:-1}); do
            conductor_conf $i
        done
    fi
}

# _arbiter_nova_notifications <conf> <routing> - notifications of one Nova
# conf: versioned (the names the routes and listeners use), through the
# arbiter-routing driver when the reaper listens (routing = True)
function _arbiter_nova_notifications {
    local conf=$1
    local routing=$2
    local format=$ARBITER_NOVA_NOTIFICATION_FORMAT
    # Keep the legacy notifications for whoever reads them (Ceilometer).
    if [[ "$(iniget $conf notifications notification_format)" == "both" ]] || \
            is_service_enabled ceilometer; then
        format=both
    fi
    iniset $conf notifications notification_format "$format"
    if [[ "$conf" != "$NOVA_CONF" ]]; then
        # A cell conductor's RPC is on its cell's vhost; its
        # notifications must reach the broker the engines listen on.
        iniset $conf oslo_messaging_notifications transport_url "$(get_notification_url)"
    fi
    if [[ "$routing" == "True" ]]; then
        iniset $conf oslo_messaging_notifications driver arbiter-routing
        iniset $conf oslo_messaging_notifications topics notifications
        iniset $conf arbiter_routing_notifier routing_config "$ARBITER_ROUTING_FILE"
    else
        iniset $conf oslo_messaging_notifications driver messagingv2
    fi
}

# _arbiter_nova_filter - ImageFamilyFilter in nova-scheduler, after the
# filters already enabled
function _arbiter_nova_filter {
    local filter=ImageFamilyFilter
    local class=image_family_svc.hooks.nova_filter.ImageFamilyFilter
    local enabled available
    enabled=$(iniget $NOVA_CONF filter_scheduler enabled_filters)
    # Nova's own default when DevStack did not set it.
    enabled=${enabled:-ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter}
    if [[ ",$enabled," != *",$filter,"* ]]; then
        iniset $NOVA_CONF filter_scheduler enabled_filters "$enabled,$filter"
    fi
    available=$(iniget_multiline $NOVA_CONF filter_scheduler available_filters)
    if [[ -z "$available" ]]; then
        # Setting the option replaces Nova's default: keep all_filters.
        iniadd $NOVA_CONF filter_scheduler available_filters \
            nova.scheduler.filters.all_filters $class
    elif [[ " $available " != *" $class "* ]]; then
        iniadd $NOVA_CONF filter_scheduler available_filters $class
    fi
    # The filter asks the image family API as the nova user (it has the
    # service role).
    _arbiter_keystoneauth $NOVA_CONF image_family_filter nova
}

# configure_arbiter_nova - the hooks in nova.conf, for the enabled
# services that need them
function configure_arbiter_nova {
    local reaper=False image_family=False conf
    if [[ "$ARBITER_NOVA_HOOKS" != "True" ]] || ! _arbiter_nova_enabled; then
        return
    fi
    if is_service_enabled arbiter-reaper; then
        reaper=True
    fi
    if is_service_enabled arbiter-image-family; then
        image_family=True
    fi
    if [[ "$reaper" == "False" && "$image_family" == "False" ]]; then
        return
    fi
    # configure_neutron_nova writes nova.conf in the background: let it
    # finish so that the two do not rewrite the file at the same time.
    if type async_wait >/dev/null 2>&1 && is_service_enabled neutron; then
        async_wait configure_neutron_nova
    fi
    if [[ "$reaper" == "True" ]]; then
        cp $ARBITER_DIR/etc/arbiter-routing-notifier.yaml.sample $ARBITER_ROUTING_FILE
    fi
    for conf in $(_arbiter_nova_notifying_confs); do
        _arbiter_nova_notifications $conf $reaper
    done
    if [[ "$image_family" == "True" ]] && is_service_enabled n-sch; then
        _arbiter_nova_filter
    fi
}

# configure_arbiter_glance - the image_family middleware in the keystone
# pipelines of glance-api-paste.ini, after authtoken, and Glance's
# notifications
function configure_arbiter_glance {
    local flavor pipeline
    if [[ "$ARBITER_GLANCE_HOOKS" != "True" ]] || ! is_service_enabled g-api || \
            ! is_service_enabled arbiter-image-family; then
        return
    fi
    iniset $GLANCE_API_PASTE_INI filter:image_family paste.filter_factory \
        image_family_svc.hooks.glance_middleware:filter_factory
    for flavor in keystone keystone+caching keystone+cachemanagement; do
        pipeline=$(iniget $GLANCE_API_PASTE_INI composite:api $flavor)
        if [[ -z "$pipeline" || " $pipeline " == *" image_family "* ]]; then
            continue
        fi
        if [[ " $pipeline " != *" authtoken "* ]]; then
            warn $LINENO "Glance pipeline $flavor has no authtoken: image_family not added"
            continue
        fi
        pipeline=" $pipeline "
        pipeline=${pipeline/ authtoken / authtoken image_family }
        pipeline=${pipeline# }
        iniset $GLANCE_API_PASTE_INI composite:api $flavor "${pipeline% }"
    done
    _arbiter_keystoneauth $GLANCE_API_CONF image_family_middleware glance
    # image-family-engine learns of images from Glance's notifications.
    iniset $GLANCE_API_CONF oslo_messaging_notifications driver messagingv2
    iniset $GLANCE_API_CONF oslo_messaging_notifications topics notifications
}

function configure_arbiter {
    local prog
    sudo install -d -o $STACK_USER $ARBITER_CONF_DIR
    sudo install -d -o $STACK_USER $ARBITER_STATE_PATH
    if is_service_enabled keystone; then
        if is_service_enabled arbiter-reaper arbiter-image-family; then
            # The engines act on every project's servers and images.
            create_service_user "$ARBITER_SERVICE_USER" admin
        else
            create_service_user "$ARBITER_SERVICE_USER"
        fi
    fi
    for prog in $(_arbiter_enabled_progs); do
        configure_arbiter_prog $prog
        init_arbiter_prog $prog
        if is_service_enabled keystone; then
            create_arbiter_accounts_prog $prog
        fi
    done
    configure_arbiter_nova
    configure_arbiter_glance
}

function start_arbiter {
    local prog name
    for prog in $(_arbiter_enabled_progs); do
        name=$(_arbiter_devstack_name $prog)
        run_process $name "$(which uwsgi) --procname-prefix $name --ini $(_arbiter_uwsgi_conf $prog)"
    done
    for prog in $(_arbiter_enabled_progs); do
        echo "Waiting for $(_arbiter_devstack_name $prog) to start..."
        if ! wait_for_service $SERVICE_TIMEOUT $(_arbiter_url $prog)/healthcheck; then
            die $LINENO "$(_arbiter_devstack_name $prog) did not start"
        fi
    done
    for prog in $(_arbiter_enabled_engines); do
        run_process $(_arbiter_engine_name $prog) \
            "$ARBITER_BIN_DIR/$prog-engine --config-file $(_arbiter_conf $prog)"
    done
}

function stop_arbiter {
    local prog
    for prog in $ARBITER_PROGS; do
        if _arbiter_has_engine $prog; then
            stop_process $(_arbiter_engine_name $prog)
        fi
        stop_process $(_arbiter_devstack_name $prog)
    done
}

function cleanup_arbiter {
    local prog
    for prog in $ARBITER_PROGS; do
        remove_uwsgi_config "$(_arbiter_uwsgi_conf $prog)" \
            "$(_arbiter_devstack_name $prog)"
    done
    sudo rm -rf $ARBITER_CONF_DIR $ARBITER_STATE_PATH
    rm -f $ARBITER_ROUTING_FILE
}

# Dispatch
# --------

if [[ "$1" == "stack" ]]; then
    case "$2" in
        install)
            echo_summary "Installing Arbiter"
            install_arbiter
            ;;
        post-config)
            echo_summary "Configuring Arbiter"
            configure_arbiter
            ;;
        extra)
            echo_summary "Starting Arbiter"
            start_arbiter
            ;;
    esac
fi

if [[ "$1" == "unstack" ]]; then
    stop_arbiter
fi

if [[ "$1" == "clean" ]]; then
    cleanup_arbiter
fi

# Restore xtrace
$_XTRACE_ARBITER
