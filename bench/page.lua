-- wrk -t2 -c8 -d20s -s bench/page.lua "http://127.0.0.1:8080/queue"
-- A board page as a signed-in browser asks for it: COOKIE holds the session
-- cookie (name=value; bench/board.sh signs in and sets it). Prints p50/p95/p99
-- and the mean size of a page.
local cookie = os.getenv("COOKIE")
local bad, bytes, pages = 0, 0, 0

request = function()
  return wrk.format("GET", wrk.path, { ["Cookie"] = cookie, ["Accept"] = "text/html" })
end

response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
  if pages < 1000 then
    bytes = bytes + #body
    pages = pages + 1
  end
end

done = function(summary, latency, requests)
  io.write(string.format("non-200 responses: %d\n", bad))
  for _, p in pairs({50, 95, 99}) do
    io.write(string.format("p%d: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
