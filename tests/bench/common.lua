-- common.lua: helpers shared by the wrk scripts of the benchmark (search.lua, book.lua,
-- plain.lua): reading the files run.sh writes, dates relative to today, per-thread counters and
-- the one result line run.sh parses. Never talks to the service itself; wrk does that.

local common = {}

-- Lines of a file, without empty ones; fails loudly, because a benchmark without its input
-- would measure nothing but 401s.
function common.read_lines(path)
    local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
    local lines = {}
    for line in f:lines() do
        if line ~= "" then
            lines[#lines + 1] = line
        end
    end
    f:close()
    assert(#lines > 0, path .. " is empty")
    return lines
end

-- Whitespace-separated fields of a line.
function common.fields(line)
    local t = {}
    for w in line:gmatch("%S+") do
        t[#t + 1] = w
    end
    return t
end

-- dates[k] is today + k days as YYYY-MM-DD. base is noon UTC of today's date, so adding whole
-- days never crosses a date boundary whatever the summer time does.
function common.dates(base, ndays)
    local d = {}
    for k = 0, ndays do
        d[k] = os.date("!%Y-%m-%d", base + k * 86400)
    end
    return d
end

-- Counters keyed by a short label ("200", "409 no-beds", ...), summed over threads in done().
common.counts = {}

function common.count(label)
    common.counts[label] = (common.counts[label] or 0) + 1
end

-- The problem type's last path segment, e.g. "no-beds", or "" for a body without one.
function common.problem_slug(body)
    return body:match('"type"%s*:%s*"[^"]*/([^"/]+)"') or ""
end

-- Counts a response as "<status>" or "<status> <problem slug>".
function common.count_response(status, body)
    if status >= 400 then
        common.count(status .. " " .. common.problem_slug(body or ""))
    else
        common.count(tostring(status))
    end
end

local threads = {}

function common.setup(thread)
    threads[#threads + 1] = thread
end

-- Prints one line for run.sh: BENCH name key=value ..., counts as count[<label>]=n. done()
-- runs in wrk's main Lua state, which never saw init()'s arguments, so a name given to
-- publish() there is read back from the threads.
function common.report(name, summary, latency)
    local totals = {}
    for _, t in ipairs(threads) do
        name = name or t:get("bench_name")
        local c = t:get("bench_counts") or {}
        for k, v in pairs(c) do
            totals[k] = (totals[k] or 0) + v
        end
    end
    local secs = summary.duration / 1e6
    local e = summary.errors
    local parts = {
        "BENCH", name or "run",
        string.format("requests=%d", summary.requests),
        string.format("seconds=%.2f", secs),
        string.format("rps=%.1f", summary.requests / secs),
        string.format("mean_ms=%.2f", latency.mean / 1000),
        string.format("p50_ms=%.2f", latency:percentile(50) / 1000),
        string.format("p90_ms=%.2f", latency:percentile(90) / 1000),
        string.format("p99_ms=%.2f", latency:percentile(99) / 1000),
        string.format("max_ms=%.2f", latency.max / 1000),
        string.format("socket_errors=%d", e.connect + e.read + e.write + e.timeout),
    }
    if next(totals) == nil then
        -- A script that read no answers: wrk itself counts those of status 400 or more.
        totals["ok"] = summary.requests - e.status
    end
    local labels = {}
    for k in pairs(totals) do
        labels[#labels + 1] = k
    end
    table.sort(labels)
    for _, k in ipairs(labels) do
        parts[#parts + 1] = string.format("count[%s]=%d", k:gsub(" ", "_"), totals[k])
    end
    io.write(table.concat(parts, " "), "\n")
end

-- Makes this thread's counters (and optionally the run's name) readable by done():
-- thread:get reads globals.
function common.publish(name)
    bench_counts = common.counts
    bench_name = name
end

return common
