# Helpers shared by the bench scripts (sourced, bash).

# bench_install CMD PACKAGE WHO: make sure CMD exists, installing Debian's
# PACKAGE if it does not (the peers are needed only by the benches, so
# they are installed here rather than on every CI run). WHO prefixes the
# messages. Returns 1 if CMD is still missing.
bench_install() {
    local cmd=$1 package=$2 who=$3 sudo=
    command -v "$cmd" >/dev/null && return 0
    echo "$who: $cmd not found: installing Debian's $package (apt-get install $package)"
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    { $sudo apt-get install -y "$package" ||
        { $sudo apt-get update && $sudo apt-get install -y "$package"; }; } >/dev/null 2>&1
    command -v "$cmd" >/dev/null
}

# median FILE N: the median of column N of FILE's lines (numbers).
median() {
    sort -g -k"$2" "$1" | awk -v k="$2" '{ v[NR] = $k } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
