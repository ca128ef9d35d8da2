# Sourced by slurm/sweep.sbatch and slurm/collect.sbatch: a clone of the sweep's commit in scratch, removed when
# the job ends, with the submitting clone's .dvc/config.local and virtualenv. Sets submit_dir, venv, clone; cds
# into the clone. SWEEP_CACHE (optional): one DVC cache for every task, e.g. on the cluster's shared file system.
# Relative paths in SWEEP_VENV, SWEEP_SCRATCH and SWEEP_CACHE are relative to the directory you submitted from.
fail() { echo "error: $*" >&2; exit 1; }
# A path made absolute against the submit directory: the job works in its clone, which is deleted at its end.
absolute() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$submit_dir/$1" ;; esac; }

repo_url=${SWEEP_REPO:-$(git -C "$submit_dir" remote get-url origin 2>/dev/null)} \
  || fail "no SWEEP_REPO and no origin remote in $submit_dir: set SWEEP_REPO to a git URL every node reaches"
rev=${SWEEP_REV:-$(git -C "$submit_dir" rev-parse HEAD)}
venv=$(absolute "${SWEEP_VENV:-.venv}")
[ -x "$venv/bin/python" ] || fail "no virtualenv at $venv: run \`make install\` in $submit_dir first, or set SWEEP_VENV"
scratch=$(absolute "${SWEEP_SCRATCH:-${TMPDIR:-/tmp}}")
cache=${SWEEP_CACHE:+$(absolute "$SWEEP_CACHE")}

clone=$(mktemp -d "$scratch/penguins-$1-${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID:-0}}-${SLURM_ARRAY_TASK_ID:-0}-XXXXXX")
trap 'rm -rf "$clone"' EXIT
git clone --quiet "$repo_url" "$clone"
git -C "$clone" checkout --quiet --detach "$rev" \
  || fail "commit $rev is not in $repo_url: git push it first"
if [ -f "$submit_dir/.dvc/config.local" ]; then cp "$submit_dir/.dvc/config.local" "$clone/.dvc/config.local"; fi

cd "$clone"
export PATH="$venv/bin:$PATH"  # dvc.yaml runs `python -m stages...`: the virtualenv's python
if [ -n "$cache" ]; then
  # DVC's shared-cache set-up: group-writable objects; reflinks or hard links where the file systems allow,
  # symlinks across them (scratch is node-local, the cache is not). A task then pulls only what no other brought.
  mkdir -p "$cache" || fail "SWEEP_CACHE=$SWEEP_CACHE: cannot create it; point it at a directory every node can write"
  cache=$(cd "$cache" && pwd)
  # What `dvc cache dir --local`, `dvc config --local cache.shared group` and cache.type write, in one process
  # rather than three dvc start-ups: with configobj, DVC's own reader and writer of its config (not git config,
  # which cannot parse the ['remote "NAME"'] sections `dvc remote add --local` writes).
  python - "$clone/.dvc/config.local" "$cache" <<'PY' || fail "SWEEP_CACHE: could not write .dvc/config.local"
import sys

from configobj import ConfigObj

config = ConfigObj(sys.argv[1])
config.setdefault("cache", {}).update({"dir": sys.argv[2], "shared": "group", "type": "reflink,hardlink,symlink,copy"})
config.write()
PY
fi
