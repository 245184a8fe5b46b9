#!/bin/bash
# Times pages on a served city: sign in with curl, then each path N times; prints the median and max.
BASE=$1; EMAIL=$2; shift 2
JAR=$(mktemp)
PAGE=$(curl -s -c $JAR -b $JAR "$BASE/sign-in")
CSRF=$(echo "$PAGE" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"//')
curl -s -o /dev/null -c $JAR -b $JAR -w "sign-in %{http_code}\n" --data-urlencode "csrf_token=$CSRF" --data-urlencode "email=$EMAIL" --data-urlencode "password=${EARLYHELP_DEMO_PASSWORD}" --data-urlencode "next=/" "$BASE/sign-in"
for path in "$@"; do
  times=()
  for i in 1 2 3 4 5 6 7; do
    t=$(curl -s -o /tmp/home16/last.html -b $JAR -w "%{http_code} %{time_total}" "$BASE$path")
    times+=("$(echo $t | cut -d' ' -f2)"); code=$(echo $t | cut -d' ' -f1)
  done
  sorted=$(printf "%s\n" "${times[@]}" | sort -n)
  echo "$EMAIL $path HTTP $code median $(echo "$sorted" | sed -n 4p)s max $(echo "$sorted" | tail -1)s"
done
rm -f $JAR
