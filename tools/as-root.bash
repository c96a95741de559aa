# Sourced by the tools that need root (setup-host, test-all): `as_root "$@"` at the top of the script returns when
# it runs as root, runs the script again through sudo when sudo exists, and otherwise says how to run it and
# exits 1 (naming `$as_root_alternative` when the script sets one). A fresh root-only machine has no sudo, so
# README.md's commands carry none.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    return 0
  fi
  local name
  name=$(basename "$0")
  if command -v sudo >/dev/null; then
    echo "$name: needs root: running it again with sudo" >&2
    exec sudo -- "$0" "$@"
  fi
  echo "$name: needs root (it installs packages, loads BPF programs and boots test VMs), and there is no sudo here:" \
    "run it from a root shell (su -, then $0)${as_root_alternative:+; $as_root_alternative}" >&2
  exit 1
}
