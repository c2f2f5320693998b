-- wrk script of bench.api: POST GraphQL bodies, one per request, rotating through a file.
--
--   wrk -t1 -c32 -d10s --latency -s bench/api_wrk.lua URL -- BODIES_FILE TOKEN
--
-- BODIES_FILE holds one JSON request body per line; each thread starts at its
-- own offset. Every response is checked: one that is not 200, or whose body
-- carries an "errors" key or a non-empty "userErrors" list (a mutation that was
-- refused), counts as bad. done() prints one line, "WRK_RESULT {json}", that
-- bench.api reads.

local prepared = {}
local position = 0
bad = 0 -- a global, so done() can read it from each thread
local threads = {}

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
    ["Authorization"] = "Bearer " .. args[2],
  }
  for line in io.lines(args[1]) do
    if #line > 0 then
      prepared[#prepared + 1] = wrk.format("POST", nil, headers, line)
    end
  end
  position = (offset or 0) * 7 % #prepared
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors":', 1, true)
      or string.find(body, '"userErrors":%s*%[%s*{') then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, "bad": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, bad_total
  ))
end
