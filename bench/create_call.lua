-- wrk -t2 -c4 -d10s -s bench/create_call.lua http://127.0.0.1:8080/v1/calls
-- TOKEN: an agent's or admin's bearer token; ORG: an organization id.
local token = os.getenv("TOKEN")
local org = os.getenv("ORG")
local bad = 0

request = function()
  local body = string.format(
    '{"organization_id":"%s","caller_name":"受付 田中","caller_number":"03-6413-0612","direction":"inbound","answered":true,"started_at":"2026-11-20T10:00:00+09:00","ended_at":"2026-11-20T10:03:00+09:00","summary":"予約システムの操作方法について"}',
    org)
  return wrk.format("POST", "/v1/calls", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

response = function(status, headers, body)
  if status ~= 201 then bad = bad + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("non-201 responses: %d\n", bad))
  for _, p in pairs({50, 95, 99}) do
    io.write(string.format("p%d: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
