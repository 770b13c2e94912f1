_artcli_completion() {
    local IFS=$'\n'
    local line=${COMP_LINE:0:COMP_POINT}
    local cur=${line##*[[:space:]]}
    local -a words
    IFS=$' \t' read -r -a words <<< "$line"
    local cword=${#words[@]}
    [[ -n $cur ]] && cword=$((cword - 1))
    COMPREPLY=( $( env COMP_WORDS="$line" \
                   COMP_CWORD=$cword \
                   _ARTCLI_COMPLETE=complete_bash $1 ) )
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local typed=${cur%"${cur##*:}"}
        local i
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]#"$typed"}
        done
    fi
    return 0
}

complete -o default -F _artcli_completion artcli
