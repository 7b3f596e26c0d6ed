# Sourced by .ci/run: a throwaway PostgreSQL cluster for the replica store's tests.
#
# start_test_postgres installs Debian's postgresql package when no server binaries are
# present, initialises a cluster in a temporary directory (as the postgres user when run
# as root: initdb refuses root), starts it on a unix socket only (no TCP port to clash
# with) and exports WATCHKEEPER_TEST_POSTGRES_URL. The cluster is stopped and removed on
# exit. An URL already set in the environment is used as it is.

_pg_bindir() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$found" ] && [ -x "$found/initdb" ]; then
        echo "$found"
    elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

_pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop_test_postgres() {
    if [ -n "${_PG_DIR:-}" ] && [ -d "$_PG_DIR" ]; then
        _pg_as_owner "$_PG_BIN/pg_ctl" -D "$_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$_PG_DIR"
    fi
}

start_test_postgres() {
    if [ -n "${WATCHKEEPER_TEST_POSTGRES_URL:-}" ]; then
        return 0
    fi
    _PG_BIN=$(_pg_bindir)
    if [ -z "$_PG_BIN" ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq postgresql >/dev/null
        _PG_BIN=$(_pg_bindir)
    fi
    if [ -z "$_PG_BIN" ]; then
        echo "no PostgreSQL server binaries (initdb, pg_ctl) found" >&2
        return 1
    fi
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home postgres
    fi
    _PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/wk-pg.XXXXXX")
    chmod 755 "$_PG_DIR"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$_PG_DIR"
    fi
    trap stop_test_postgres EXIT
    _pg_as_owner "$_PG_BIN/initdb" -D "$_PG_DIR/data" -U postgres --auth=trust \
        --encoding=UTF8 --no-locale >/dev/null
    # Tests need no durability: no fsync keeps the suite fast.
    # (pg_ctl hands -o to a shell command line: it must be one line.)
    local options="-c listen_addresses='' -c unix_socket_directories='$_PG_DIR' -p 5432"
    options="$options -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    options="$options -c max_connections=200"
    _pg_as_owner "$_PG_BIN/pg_ctl" -D "$_PG_DIR/data" -l "$_PG_DIR/log" -w -t 60 \
        -o "$options" start >/dev/null
    export WATCHKEEPER_TEST_POSTGRES_URL="postgresql://postgres@/postgres?host=$_PG_DIR&port=5432"
}
