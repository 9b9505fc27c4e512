-- wrk -t2 -c8 -d20s -s bench/get.lua "http://127.0.0.1:8080/v1/queue"
-- Prints p50/p95/p99; TOKEN must hold a bearer token of an agent or admin.
local token = os.getenv("TOKEN")
local paths = {}
for p in string.gmatch(os.getenv("PATHS") or "", "[^ ]+") do table.insert(paths, p) end
local n = 0

request = function()
  n = n + 1
  local path = wrk.path
  if #paths > 0 then path = paths[(n % #paths) + 1] end
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end

local bad = 0
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("non-200 responses: %d\n", bad))
  for _, p in pairs({50, 95, 99}) do
    io.write(string.format("p%d: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
