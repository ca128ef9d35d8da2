# Sourced by slurm/sweep.sbatch and slurm/collect.sbatch: a clone of the sweep's commit in scratch, removed when
# the job ends, with the submitting clone's .dvc/config.local and virtualenv. Sets submit_dir, venv, clone; cds
# into the clone. SWEEP_CACHE (optional): one DVC cache for every task, e.g. on the cluster's shared file system.
fail() { echo "error: $*" >&2; exit 1; }

repo_url=${SWEEP_REPO:-$(git -C "$submit_dir" remote get-url origin 2>/dev/null)} \
  || fail "no SWEEP_REPO and no origin remote in $submit_dir: set SWEEP_REPO to a git URL every node reaches"
rev=${SWEEP_REV:-$(git -C "$submit_dir" rev-parse HEAD)}
venv=${SWEEP_VENV:-$submit_dir/.venv}
[ -x "$venv/bin/python" ] || fail "no virtualenv at $venv: run \`make install\` in $submit_dir first, or set SWEEP_VENV"

clone=$(mktemp -d "${SWEEP_SCRATCH:-${TMPDIR:-/tmp}}/penguins-$1-${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID:-0}}-${SLURM_ARRAY_TASK_ID:-0}-XXXXXX")
trap 'rm -rf "$clone"' EXIT
git clone --quiet "$repo_url" "$clone"
git -C "$clone" checkout --quiet --detach "$rev" \
  || fail "commit $rev is not in $repo_url: git push it first"
if [ -f "$submit_dir/.dvc/config.local" ]; then cp "$submit_dir/.dvc/config.local" "$clone/.dvc/config.local"; fi

cd "$clone"
export PATH="$venv/bin:$PATH"  # dvc.yaml runs `python -m stages...`: the virtualenv's python
if [ -n "${SWEEP_CACHE:-}" ]; then
  # DVC's shared-cache set-up: group-writable objects; reflinks or hard links where the file systems allow,
  # symlinks across them (scratch is node-local, the cache is not). A task then pulls only what no other brought.
  mkdir -p "$SWEEP_CACHE" || fail "SWEEP_CACHE=$SWEEP_CACHE: cannot create it; point it at a directory every node can write"
  # What `dvc cache dir --local`, `dvc config --local cache.shared group` and cache.type write (DVC's config is
  # INI, as git's): git writes it without three dvc start-ups.
  config="$clone/.dvc/config.local"
  git config -f "$config" cache.dir "$(cd "$SWEEP_CACHE" && pwd)"
  git config -f "$config" cache.shared group
  git config -f "$config" cache.type reflink,hardlink,symlink,copy
fi
