#!/usr/bin/env bash
# Interface-text catalogs (Flask-Babel, domain "messages") for ru, kk and en.
#
#   bash scripts/i18n.sh extract update compile
#
#   extract  scan feedsvc/ (see babel.cfg) into feedsvc/i18n/messages.pot
#   update   merge the .pot into feedsvc/i18n/{ru,kk,en}/LC_MESSAGES/messages.po,
#            keeping existing translations (a catalog that is missing is created);
#            the English catalog is filled in with the msgids themselves
#   compile  build the messages.mo files the app loads at run time (commit them)
#
# Idempotent: with no string changes the tree is left exactly as it was.
# After "update", translate every empty or "#, fuzzy" entry in ru and kk, then
# run "compile"; tests/test_i18n.py checks all of this.
set -euo pipefail

cd "$(dirname "$0")/.."

if [[ -z "${PYBABEL:-}" ]]; then
    if [[ -x .venv/bin/pybabel ]]; then PYBABEL=.venv/bin/pybabel; else PYBABEL=pybabel; fi
fi
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

I18N=feedsvc/i18n
POT=$I18N/messages.pot
LOCALES=(ru kk en)

# Lines that change on every run without any string changing.
volatile='^"(POT-Creation-Date|PO-Revision-Date|Generated-By): '

# Move $1 over $2 unless they differ only in volatile header lines.
replace_if_changed() {
    if [[ -f "$2" ]] && diff -q <(grep -Ev "$volatile" "$1") <(grep -Ev "$volatile" "$2") >/dev/null; then
        rm -f "$1"
    else
        mv "$1" "$2"
        chmod 644 "$2"
        echo "updated $2"
    fi
}

extract() {
    local version tmp
    version=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("feedsvc"))' 2>/dev/null || echo 0)
    tmp=$(mktemp "$I18N/.messages.pot.XXXXXX")
    "$PYBABEL" -q extract -F babel.cfg -k _l -c TRANSLATORS: \
        --project=feedsvc --version="$version" --copyright-holder="feedsvc" \
        -o "$tmp" feedsvc
    replace_if_changed "$tmp" "$POT"
}

# The English interface text is the msgids: fill empty or fuzzy entries with them.
fill_english() {
    "$PYTHON" - "$1" <<'PY'
import sys

from babel.messages.pofile import read_po
from babel.messages.pofile import write_po

path = sys.argv[1]
with open(path, "rb") as f:
    catalog = read_po(f, locale="en")
for message in catalog:
    if not message.id:
        continue
    if message.pluralizable:
        if message.fuzzy or not all(message.string):
            message.string = (message.id[0], *[message.id[1]] * (catalog.num_plurals - 1))
    elif message.fuzzy or not message.string:
        message.string = message.id
    message.flags.discard("fuzzy")
with open(path, "wb") as f:
    write_po(f, catalog, width=76, ignore_obsolete=True)
PY
}

update() {
    local lang po tmp
    [[ -f "$POT" ]] || extract
    for lang in "${LOCALES[@]}"; do
        po=$I18N/$lang/LC_MESSAGES/messages.po
        mkdir -p "$(dirname "$po")"
        tmp=$(mktemp "$I18N/.messages.po.XXXXXX")
        if [[ -f "$po" ]]; then
            cp "$po" "$tmp"
            "$PYBABEL" -q update -i "$POT" -o "$tmp" -l "$lang" --ignore-obsolete
        else
            "$PYBABEL" -q init -i "$POT" -o "$tmp" -l "$lang"
        fi
        if [[ $lang == en ]]; then fill_english "$tmp"; fi
        replace_if_changed "$tmp" "$po"
    done
}

compile() {
    local lang po mo tmp
    for lang in "${LOCALES[@]}"; do
        po=$I18N/$lang/LC_MESSAGES/messages.po
        mo=${po%.po}.mo
        [[ -f "$po" ]] || { echo "missing $po: run update first" >&2; exit 1; }
        tmp=$(mktemp "$I18N/.messages.mo.XXXXXX")
        "$PYBABEL" -q compile --statistics -i "$po" -o "$tmp" -l "$lang"
        if [[ -f "$mo" ]] && cmp -s "$tmp" "$mo"; then
            rm -f "$tmp"
        else
            mv "$tmp" "$mo"
            chmod 644 "$mo"
            echo "compiled $mo"
        fi
    done
}

if [[ $# -eq 0 ]]; then
    echo "usage: bash scripts/i18n.sh {extract|update|compile}..." >&2
    exit 2
fi
for step in "$@"; do
    case $step in
        extract|update|compile) "$step" ;;
        *) echo "unknown step: $step (extract, update or compile)" >&2; exit 2 ;;
    esac
done
