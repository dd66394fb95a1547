#!/bin/bash
# Confinement of folder units (docs/engine.md "Confinement"): with
# folder_root, a tenant's backups and restores never follow a symbolic link
# below FOLDER_ROOT/<tenant>/, whenever it was planted. A tenant admin who
# creates a unit under a folder that does not exist yet, then makes that
# folder a link to the service's data folder or to another tenant's folder,
# gets a failed backup naming the link, no restore point of the keys, and
# restores that refuse to write or delete through the link. A link planted
# inside a unit is backed up as a link and replaced, not written through, by
# an in-place restore. A real coffer serve on loopback port 18901.
. "$(dirname "$0")/lib.sh"

for tool in curl jq; do
	command -v $tool >/dev/null || { not_ok "confine: $tool is installed" "missing"; exit 1; }
done
SEED=confine
PORT=18901
R=$T/roots
DATA=$T/data
U=/v1/tenants

serve_start serve "http://127.0.0.1:$PORT" --data "$DATA" --listen "127.0.0.1:$PORT" \
	--workers 2 --tick-ms 200 --min-frequency 1 --folder-root "$R" ||
	{ not_ok "confine: coffer serve starts" "$(serve_why serve)"; exit 1; }
GTOK=$(grep -m1 '^cft_' "$T/serve.out")

# tenant NAME: a tenant and its tenantAdmin token in $TID, $TOK.
tenant() {
	api "$GTOK" POST "$U" "{\"name\":\"$1\"}"
	TID=$(jq -r .id "$T/resp")
	api "$GTOK" POST "$U/$TID/tokens" '{"name":"admin","role":"tenantAdmin"}'
	TOK=$(jq -r .secret "$T/resp")
	[ -n "$TID" ] && [ "$TID" != null ] && [ -n "$TOK" ] && [ "$TOK" != null ]
}
# unit NAME PATH: a folder unit of the current tenant; its id in $UID_.
unit() {
	api "$TOK" POST "$U/$TID/protectionUnits" \
		"{\"name\":\"$1\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$2\"}}"
	UID_=$(jq -r .id "$T/resp")
	[ "$code" = 201 ]
}
unit_field() { q "$TOK" "$U/$TID/protectionUnits/$1" ".$2"; }
rp_count() { q "$TOK" "$U/$TID/protectionUnits/$1/restorePoints?limit=1000" '.items | length'; }
# backup UNIT: an on-demand backup, waited for; 0 if it took a restore point,
# 1 if it failed (the unit's failures went up). lastError in $LAST_ERROR.
backup() {
	BK_UNIT=$1 BK_N=$(rp_count "$1") BK_F=$(unit_field "$1" failures)
	api "$TOK" POST "$U/$TID/protectionUnits/$1/backup"
	until_true 60 backup_ended
	LAST_ERROR=$(unit_field "$1" lastError)
	[ "$(rp_count "$1")" -gt "$BK_N" ]
}
backup_ended() {
	[ "$(rp_count "$BK_UNIT")" -gt "$BK_N" ] || [ "$(unit_field "$BK_UNIT" failures)" -gt "$BK_F" ]
}
# session BODY: a restore session, waited for; its JSON in $T/session.
session() {
	local sid
	api "$TOK" POST "$U/$TID/restoreSessions" "$1"
	sid=$(jq -r .id "$T/resp")
	ended() {
		case "$(q "$TOK" "$U/$TID/restoreSessions/$sid" .state)" in
		succeeded | failed) return 0 ;; *) return 1 ;; esac
	}
	until_true 60 ended
	cp "$T/resp" "$T/session"
}
art() { jq -r ".artifacts[0].$1" "$T/session"; }
# acme_same LABEL: acme's folder is byte for byte (and mode, mtime) as it was.
acme_same() {
	if [ "$(tree_listing "$R/acme")" = "$(cat "$T/acme.listing")" ]; then
		ok "confine: $1: acme's folder is unchanged"
	else
		not_ok "confine: $1: acme's folder is unchanged" \
			"$(diff "$T/acme.listing" <(tree_listing "$R/acme") | head -6 | tr '\n' ' ')"
	fi
}
# names_link LINK MESSAGE: the message names LINK as a symbolic link.
names_link() {
	case "$2" in
	*"$1"*"symbolic link"* | *"symbolic link"*"$1"*) return 0 ;; *) return 1 ;;
	esac
}

# ---------------------------------------------------------------------
# Two tenants: acme (the victim, with a unit and files) and evil.
mkdir -p "$R/acme/files/docs" "$R/evil"
for i in 1 2 3; do gen "acme-$i" 50000 >"$R/acme/files/docs/report-$i.bin"; done
echo "acme's secret plan" >"$R/acme/files/plan.txt"
if tenant acme; then ok "confine: tenant acme"; else not_ok "confine: tenant acme" "$code $(cat "$T/resp")"; exit 1; fi
ATID=$TID ATOK=$TOK
unit files "$R/acme/files"
if backup "$UID_"; then ok "confine: acme's unit is backed up"; else
	not_ok "confine: acme's unit is backed up" "$LAST_ERROR"; fi
tree_listing "$R/acme" >"$T/acme.listing"
if tenant evil; then ok "confine: tenant evil"; else not_ok "confine: tenant evil" "$code $(cat "$T/resp")"; exit 1; fi
: "$ATID" "$ATOK"

# A unit through a link that stays inside the tenant's folder is refused at
# once: the jobs would never follow it.
mkdir -p "$R/evil/real/x"
ln -s "$R/evil/real" "$R/evil/alias"
api "$TOK" POST "$U/$TID/protectionUnits" \
	"{\"name\":\"alias\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$R/evil/alias/x\"}}"
if [ "$code" = 400 ] && names_link "$R/evil/alias" "$(jq -r .error.message "$T/resp")"; then
	ok "confine: a unit through a link inside the tenant's folder is refused, naming it"; else
	not_ok "confine: a unit through a link inside the tenant's folder is refused, naming it" \
		"$code $(head -c 300 "$T/resp")"; fi

# (a) A unit below a folder that does not exist yet, then that folder made a
# link to the data folder: the next backup would hold every tenant's key.
if unit keys "$R/evil/deep/keys"; then ok "confine: a unit below a missing folder is accepted"; else
	not_ok "confine: a unit below a missing folder is accepted" "$code $(cat "$T/resp")"; fi
KEYS=$UID_
ln -s "$DATA" "$R/evil/deep"
if backup "$KEYS"; then
	not_ok "confine: (a) a backup through a link to the data folder is refused" "it took a restore point"
else
	ok "confine: (a) a backup through a link to the data folder is refused"
fi
if names_link "$R/evil/deep" "$LAST_ERROR"; then ok "confine: (a) lastError names the link"; else
	not_ok "confine: (a) lastError names the link" "$LAST_ERROR"; fi
api "$TOK" GET "$U/$TID/protectionUnits/$KEYS/restorePoints/1/items"
if [ "$(rp_count "$KEYS")" = 0 ] && [ "$code" = 404 ]; then
	ok "confine: (a) no restore point, no listing of the keys"; else
	not_ok "confine: (a) no restore point, no listing of the keys" "$code $(head -c 300 "$T/resp")"; fi

# (b) The same with a link to acme's folder; and a unit that is itself a link.
unit stolen "$R/evil/deep2/files"; STOLEN=$UID_
ln -s "$R/acme" "$R/evil/deep2"
if backup "$STOLEN"; then
	not_ok "confine: (b) a backup through a link to acme's folder is refused" "it took a restore point"
else
	ok "confine: (b) a backup through a link to acme's folder is refused"
fi
if names_link "$R/evil/deep2" "$LAST_ERROR"; then ok "confine: (b) lastError names the link"; else
	not_ok "confine: (b) lastError names the link" "$LAST_ERROR"; fi
unit itself "$R/evil/itself"; ITSELF=$UID_
ln -s "$R/acme/files" "$R/evil/itself"
if ! backup "$ITSELF" && names_link "$R/evil/itself" "$LAST_ERROR"; then
	ok "confine: (b) a unit folder that is itself a link is refused, naming it"; else
	not_ok "confine: (b) a unit folder that is itself a link is refused, naming it" "$LAST_ERROR"; fi

# (c) A good unit of evil, backed up; then its parent made a link to acme's
# folder, where acme's unit has the same name. An in-place restore would
# remove acme's files the point lacks and write evil's over the rest.
mkdir -p "$R/evil/par/files/docs"
echo "evil's bytes" >"$R/evil/par/files/plan.txt"
gen evil-1 30000 >"$R/evil/par/files/docs/report-1.bin"
unit good "$R/evil/par/files"; GOOD=$UID_
if backup "$GOOD"; then ok "confine: evil's own unit is backed up"; else
	not_ok "confine: evil's own unit is backed up" "$LAST_ERROR"; fi
mv "$R/evil/par" "$R/evil/par.real"
ln -s "$R/acme" "$R/evil/par"
session "{\"items\":[{\"unit\":\"$GOOD\",\"restorePoint\":1,\"mode\":\"inPlace\"}]}"
if [ "$(art state)" = failed ] && names_link "$R/evil/par" "$(art error)"; then
	ok "confine: (c) an in-place restore through a swapped parent fails, naming the link"; else
	not_ok "confine: (c) an in-place restore through a swapped parent fails, naming the link" \
		"$(art state): $(art error)"; fi
acme_same "(c) in-place restore"
session "{\"items\":[{\"unit\":\"$GOOD\",\"restorePoint\":1,\"mode\":\"granular\",\"paths\":[\"docs\"]}]}"
if [ "$(art state)" = failed ] && names_link "$R/evil/par" "$(art error)"; then
	ok "confine: (c) a granular restore through a swapped parent fails, naming the link"; else
	not_ok "confine: (c) a granular restore through a swapped parent fails, naming the link" \
		"$(art state): $(art error)"; fi
acme_same "(c) granular restore"

# (d) A new-location restore: files.restored-1 would be made in acme's folder.
session "{\"items\":[{\"unit\":\"$GOOD\",\"restorePoint\":1,\"mode\":\"newLocation\"}]}"
if [ "$(art state)" = failed ] && names_link "$R/evil/par" "$(art error)"; then
	ok "confine: (d) a new-location restore through a swapped parent fails, naming the link"; else
	not_ok "confine: (d) a new-location restore through a swapped parent fails, naming the link" \
		"$(art state): $(art error)"; fi
acme_same "(d) new-location restore"
if ! ls -d "$R"/acme/files.restored-* >/dev/null 2>&1; then
	ok "confine: (d) no files.restored-N in acme's folder"; else
	not_ok "confine: (d) no files.restored-N in acme's folder" "$(ls "$R/acme")"; fi
# The backup through the swapped parent is refused too.
if ! backup "$GOOD" && names_link "$R/evil/par" "$LAST_ERROR"; then
	ok "confine: (c) a backup through the swapped parent is refused"; else
	not_ok "confine: (c) a backup through the swapped parent is refused" "$LAST_ERROR"; fi

# The parent back: every mode works again, inside evil's folder.
rm "$R/evil/par"; mv "$R/evil/par.real" "$R/evil/par"
cp -a "$R/evil/par/files" "$T/good-at-1"
echo "ransom" >"$R/evil/par/files/plan.txt"; rm "$R/evil/par/files/docs/report-1.bin"
session "{\"items\":[{\"unit\":\"$GOOD\",\"restorePoint\":1,\"mode\":\"inPlace\"}]}"
if [ "$(art state)" = succeeded ] && same_tree "$T/good-at-1" "$R/evil/par/files"; then
	ok "confine: with the parent back, an in-place restore succeeds"; else
	not_ok "confine: with the parent back, an in-place restore succeeds" "$(art state): $(art error)"; fi
session "{\"items\":[{\"unit\":\"$GOOD\",\"restorePoint\":1,\"mode\":\"newLocation\"}]}"
if [ "$(art state)" = succeeded ] && [ "$(art target)" = "$R/evil/par/files.restored-1" ] &&
	same_tree "$T/good-at-1" "$R/evil/par/files.restored-1"; then
	ok "confine: with the parent back, a new-location restore writes files.restored-1"; else
	not_ok "confine: with the parent back, a new-location restore writes files.restored-1" \
		"$(art state) $(art target): $(art error)"; fi

# (e) A link swapped in inside a unit is backed up as a link (not followed);
# an in-place restore of the point before puts the folder back without
# writing through the link.
tree_listing "$R/acme" >"$T/acme.listing"
mkdir -p "$R/evil/inner/sub"
echo "sub a" >"$R/evil/inner/sub/a.txt"
echo "sub b" >"$R/evil/inner/sub/plan.txt"
echo top >"$R/evil/inner/top.txt"
cp -a "$R/evil/inner" "$T/inner-at-1"
unit inner "$R/evil/inner"; INNER=$UID_
backup "$INNER"
rm -r "$R/evil/inner/sub"
ln -s /etc "$R/evil/inner/sub"
if backup "$INNER"; then ok "confine: (e) a unit with a link to /etc inside is backed up"; else
	not_ok "confine: (e) a unit with a link to /etc inside is backed up" "$LAST_ERROR"; fi
api "$TOK" GET "$U/$TID/protectionUnits/$INNER/restorePoints/2/items?path=sub"
if [ "$code" = 200 ] && [ "$(jq -r '.items[0].type' "$T/resp")" = symlink ] &&
	[ "$(jq -r '.items[0].target' "$T/resp")" = /etc ]; then
	ok "confine: (e) the point holds sub as a link to /etc"; else
	not_ok "confine: (e) the point holds sub as a link to /etc" "$code $(head -c 300 "$T/resp")"; fi
api "$TOK" GET "$U/$TID/protectionUnits/$INNER/restorePoints/2/items?path=sub/passwd"
expect "confine: (e) nothing of /etc is in the point" 404
rm "$R/evil/inner/sub"
ln -s "$R/acme/files" "$R/evil/inner/sub"
session "{\"items\":[{\"unit\":\"$INNER\",\"restorePoint\":1,\"mode\":\"inPlace\"}]}"
if [ "$(art state)" = succeeded ] && same_tree "$T/inner-at-1" "$R/evil/inner"; then
	ok "confine: (e) an in-place restore replaces the link with the folder"; else
	not_ok "confine: (e) an in-place restore replaces the link with the folder" \
		"$(art state): $(art error) $(ls -l "$R/evil/inner" | tr '\n' ' ')"; fi
acme_same "(e) in-place restore over an inner link"
rm -r "$R/evil/inner/sub"
ln -s "$R/acme/files" "$R/evil/inner/sub"
session "{\"items\":[{\"unit\":\"$INNER\",\"restorePoint\":1,\"mode\":\"granular\",\"paths\":[\"sub/plan.txt\"]}]}"
if [ "$(art state)" = succeeded ] && [ ! -L "$R/evil/inner/sub" ] &&
	cmp -s "$T/inner-at-1/sub/plan.txt" "$R/evil/inner/sub/plan.txt"; then
	ok "confine: (e) a granular restore below an inner link replaces the link"; else
	not_ok "confine: (e) a granular restore below an inner link replaces the link" \
		"$(art state): $(art error)"; fi
acme_same "(e) granular restore below an inner link"
session "{\"items\":[{\"unit\":\"$INNER\",\"restorePoint\":2,\"mode\":\"inPlace\"}]}"
if [ "$(art state)" = succeeded ] && [ "$(readlink "$R/evil/inner/sub")" = /etc ]; then
	ok "confine: (e) a restore of the point with the link makes the link again"; else
	not_ok "confine: (e) a restore of the point with the link makes the link again" \
		"$(art state): $(art error)"; fi

serve_stop TERM
if sanitizer "$T/serve.err"; then
	not_ok "confine: no sanitizer report in the server log" "$(grep -m1 -E 'Sanitizer|runtime error' "$T/serve.err")"; else
	ok "confine: no sanitizer report in the server log"; fi
finish
