# Source this: ONE and TWO hold the ten one-word and ten two-word searches of
# issue 16.7 as URL paths, for PATHS="$ONE" bench/get.sh … (or "$TWO").
enc() { python3 -c 'import sys,urllib.parse;print(" ".join("/v1/search?q="+urllib.parse.quote(a) for a in sys.argv[1:]))' "$@"; }
ONE=$(enc 予約 障害 ログイン 電子カルテ FAX ID プリンター エラーコード オンライン資格確認 再起動)
TWO=$(enc "予約 障害" "ログイン エラー" "電子カルテ 表示" "FAX 送信" "プリンター 印刷" "再起動 改善" "レセプト 請求" "画面 表示" "オンライン資格確認 エラー" "パスワード 変更")
