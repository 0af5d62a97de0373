-- wrk script of bench/ingest.py: send the requests of a file, at most a count.
--
-- wrk -t1 -s bench/ingest.lua URL -- FILE LIMIT PREFIX [latency]
--
-- Each line of FILE is "METHOD<TAB>PATH<TAB>TOKEN<TAB>HEAD<TAB>TAIL"; the
-- lines are sent in turn.  A line with a HEAD sends the JSON body
-- HEAD .. run id .. TAIL, the run id being PREFIX and a number counting this
-- thread's requests, so every push is a new run.  Once LIMIT responses
-- arrived the test ends (wrk's -d bounds its time), and done() prints one
-- line "RESULT {json}": requests, seconds, errors, responses per status and,
-- given "latency" (which takes one connection), each response's latency in
-- milliseconds.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } cisizer_timespec;
int clock_gettime(int clock, cisizer_timespec *now);
int kill(int pid, int signal);
int getpid(void);
]]

local CLOCK_MONOTONIC = 1
local SIGINT = 2
local clock = ffi.new("cisizer_timespec")

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) * 1e-9
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local items = {}
local limit = 0
local prefix = ""
local sent = 0
local sent_at = 0
local timed = false
statuses = {}
latencies = {}
received = 0

function init(args)
  limit = tonumber(args[2])
  prefix = args[3] or ""
  timed = args[4] == "latency"
  for line in io.lines(args[1]) do
    local method, path, token, head, tail =
      line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = { ["Authorization"] = "Bearer " .. token }
    if head ~= "" then
      headers["Content-Type"] = "application/json"
    end
    table.insert(items, {
      method = method, path = path, headers = headers, head = head, tail = tail,
    })
  end
end

function request()
  sent = sent + 1
  local item = items[(sent - 1) % #items + 1]
  local body = nil
  if item.head ~= "" then
    body = item.head .. prefix .. sent .. item.tail
  end
  sent_at = now()
  return wrk.format(item.method, item.path, item.headers, body)
end

function response(status, headers, body)
  if timed then
    -- With one connection each response answers the request sent last.
    latencies[#latencies + 1] = (now() - sent_at) * 1000
  end
  received = received + 1
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if received == limit then
    wrk.thread:stop()
    -- wrk otherwise sleeps out its -d; SIGINT ends the test here.
    ffi.C.kill(ffi.C.getpid(), SIGINT)
  end
end

function done(summary, latency, requests)
  local counts = {}
  local times = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      table.insert(counts, string.format('"%s": %d', status, count))
    end
    for _, ms in ipairs(thread:get("latencies")) do
      table.insert(times, string.format("%.3f", ms))
    end
  end
  local errors = summary.errors
  io.write(string.format(
    '\nRESULT {"requests": %d, "seconds": %.6f, "errors": {"connect": %d, '
      .. '"read": %d, "write": %d, "timeout": %d}, "statuses": {%s}, '
      .. '"latencies_ms": [%s]}\n',
    summary.requests, summary.duration / 1e6, errors.connect, errors.read,
    errors.write, errors.timeout, table.concat(counts, ", "),
    table.concat(times, ", ")
  ))
end
