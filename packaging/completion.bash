# bash completion for meshd and meshctl (installed as
# /usr/share/bash-completion/completions/{meshd,meshctl}). The verb lists
# come from the binaries' own --help, so they cannot drift.
_meshctl() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  case $prev in
    --socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --timeout-ms) return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "--socket --timeout-ms --help --version" -- "$cur"))
    return
  fi
  local verbs
  verbs=$(meshctl --help 2>/dev/null | sed -n '/^verbs:/,/^  any other/p' | awk 'NR>1 && $1 != "any" {print $1}')
  COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
}
_meshd() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  case $prev in
    --config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --log-level) COMPREPLY=($(compgen -W "debug info warn error" -- "$cur")); return ;;
    key) COMPREPLY=($(compgen -W "show generate rotate" -- "$cur")); return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "--config --log-level --help --version" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "run key" -- "$cur"))
  fi
}
complete -F _meshctl meshctl
complete -F _meshd meshd
