#!/usr/bin/env bash
# Checks that the PostgreSQL 15 server binaries hack/postgres.sh needs are
# installed. The store tests start a real cluster and fail without them.
set -euo pipefail

bin=${PGBIN:-/usr/lib/postgresql/15/bin}
problem=
for tool in initdb pg_ctl postgres; do
	if [[ ! -x "$bin/$tool" ]]; then
		problem="$bin/$tool is missing"
		break
	fi
done
if [[ -z $problem ]]; then
	version=$("$bin/postgres" --version 2>/dev/null || true)
	[[ $version =~ \ 15(\.|$) ]] || problem="$bin/postgres is not version 15 (it says: ${version:-nothing})"
fi
if [[ -n $problem ]]; then
	{
		echo "PostgreSQL 15 is not installed: $problem."
		echo "The store tests start a throwaway PostgreSQL 15 cluster (hack/postgres.sh). Install it with:"
		echo "    apt-get install -y postgresql-15"
		echo "or set PGBIN to a directory holding initdb, pg_ctl and postgres of version 15."
	} >&2
	exit 1
fi
