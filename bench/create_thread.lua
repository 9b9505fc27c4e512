-- wrk -t2 -c16 -d20s -s bench/create_thread.lua http://127.0.0.1:8080/v1/threads
-- TOKEN must hold a bearer token of an agent or admin; ORG the organization id.
local token = os.getenv("TOKEN")
local org = os.getenv("ORG")
local subjects = {"予約システム", "電子カルテ", "レセプト", "ＦＡＸ送信", "ログイン画面", "請求書"}
local problems = {"にログインできません", "が表示されません", "でエラーが発生します", "の設定方法を教えてください"}
local n = 0

request = function()
  n = n + 1
  local s = subjects[(n % #subjects) + 1]
  local p = problems[(n % #problems) + 1]
  local body = string.format(
    '{"title":"%s%s","body":"本日午前から%s%s。再起動しても改善しません。","priority":"normal","organization_id":"%s"}',
    s, p, s, p, org)
  return wrk.format("POST", "/v1/threads", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

local bad = 0
response = function(status, headers, body)
  if status ~= 201 then bad = bad + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("non-201 responses: %d\n", bad))
  for _, p in pairs({50, 95, 99}) do
    io.write(string.format("p%d: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
