#!/bin/bash
#
# DevStack plugin of Arbiter: installs, configures and runs the four
# services (limits, reaper, image-family, federation), each under uwsgi on
# its own port, registered in Keystone under its service type.
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

function _arbiter_db_name {
    echo "arbiter_${1//-/_}"
}

function _arbiter_conf {
    echo "$ARBITER_CONF_DIR/$1.conf"
}

function _arbiter_uwsgi_conf {
    echo "$ARBITER_CONF_DIR/$1-uwsgi.ini"
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
    iniset $conf database connection "$(database_connection_url $(_arbiter_db_name $prog))"
    configure_keystone_authtoken_middleware $conf $ARBITER_SERVICE_USER keystone_authtoken "$(_arbiter_service_type $prog)"
    iniset_rpc_backend arbiter $conf
    if is_service_enabled rabbit; then
        iniset $conf oslo_messaging_notifications driver "$ARBITER_NOTIFICATION_DRIVER"
    else
        iniset $conf oslo_messaging_notifications driver noop
    fi
    setup_logging $conf

    write_uwsgi_config "$(_arbiter_uwsgi_conf $prog)" \
        "$(_arbiter_package $prog).wsgi:application" "" \
        "$listen:$(_arbiter_port $prog)" "$(_arbiter_devstack_name $prog)"
}

# init_arbiter_prog <prog> - create the database and its schema
function init_arbiter_prog {
    local prog=$1
    recreate_database $(_arbiter_db_name $prog)
    $ARBITER_BIN_DIR/$prog-manage --config-file $(_arbiter_conf $prog) db sync
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

function configure_arbiter {
    local prog
    sudo install -d -o $STACK_USER $ARBITER_CONF_DIR
    sudo install -d -o $STACK_USER $ARBITER_STATE_PATH
    if is_service_enabled keystone; then
        create_service_user "$ARBITER_SERVICE_USER"
    fi
    for prog in $(_arbiter_enabled_progs); do
        configure_arbiter_prog $prog
        init_arbiter_prog $prog
        if is_service_enabled keystone; then
            create_arbiter_accounts_prog $prog
        fi
    done
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
}

function stop_arbiter {
    local prog
    for prog in $ARBITER_PROGS; do
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
