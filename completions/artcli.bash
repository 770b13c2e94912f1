COMP_WORDBREAKS=${COMP_WORDBREAKS//:}

_artcli_completion() {
    local IFS=$'
'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \
                   COMP_CWORD=$COMP_CWORD \
                   _ARTCLI_COMPLETE=complete_bash $1 ) )
    return 0
}

complete -o default -F _artcli_completion artcli