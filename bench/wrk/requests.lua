-- Sends the requests of a file (bench/served_data.py writes it), round and round: one a line,
-- tab-separated: method, path, content type, cookie, CSRF token, body in hex. Each wrk thread
-- takes every n-th line, so no two threads send the same one (an authorization code is good
-- once). CIS_WRK_FILE names the file, CIS_WRK_THREADS wrk's -t; CIS_WRK_CLOSE=1 asks for a
-- connection per request (Connection: close). done() prints one line,
-- CISWRK {json}: the counts (ok: answers in 2xx) and the latency percentiles in us.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function unhex(h)
  return (h:gsub("..", function(c) return string.char(tonumber(c, 16)) end))
end

function init(args)
  local all = {}
  for line in io.lines(os.getenv("CIS_WRK_FILE")) do
    local method, path, ctype, cookie, csrf, body =
      line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
    local headers = {}
    if ctype ~= "" then headers["Content-Type"] = ctype end
    if cookie ~= "" then headers["Cookie"] = cookie end
    if csrf ~= "" then headers["X-CSRFToken"] = csrf end
    if os.getenv("CIS_WRK_CLOSE") == "1" then headers["Connection"] = "close" end
    table.insert(all, wrk.format(method, path, headers, unhex(body)))
  end
  -- Every n-th line for thread n; a file shorter than the threads goes whole to each.
  local count = tonumber(os.getenv("CIS_WRK_THREADS"))
  lines = {}
  for i, request in ipairs(all) do
    if #all < count or (i - 1) % count == tid then table.insert(lines, request) end
  end
  sent, ok = 0, 0
end

function request()
  sent = sent + 1
  return lines[(sent - 1) % #lines + 1]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 end
end

function done(summary, latency, requests)
  local ok_all = 0
  for _, t in ipairs(threads) do ok_all = ok_all + (t:get("ok") or 0) end
  io.write(string.format(
    'CISWRK {"requests": %d, "duration_us": %d, "ok": %d, ' ..
    '"non2xx": %d, "errors": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, ok_all, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
