-- book.lua: wrk script that books through the full API as caregivers: POST /v1/stays (a hold in
-- a planned instant pool, unique Idempotency-Key each), then the stay's follow-up, which is
-- either "confirm" (the normal booking path; keeps the bed) or "cancel" (gives the bed back, so
-- a contention run keeps fighting over the same few nights). Every caregiver stays under the
-- three-open-stays limit because each hold is followed up at once and caregivers rotate.
--
-- Arguments (after wrk's --): tokens file ("caregiver token" lines), pools file
-- ("pool_id care_profile min_nights lead_days" lines), noon UTC of today as epoch seconds,
-- a tag that makes the idempotency keys unique, the follow-up (confirm|cancel), and
-- optionally "first_day:last_day:max_nights" to book only inside that window of days from
-- today (the contention run), and a name for the result line.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local tokens = {}
local pools = {}
local dates
local tag, follow_up
local window_first, window_last, window_nights
local next_token = 0
local seq = 0
-- Holds waiting for their follow-up: {id = stay id, who = token index}. wrk does not say
-- which request a response answers, so the guest alias carries the caregiver's index.
local pending = {}
local pending_head, pending_tail = 1, 0

function setup(thread)
    common.setup(thread)
end

function init(args)
    for _, line in ipairs(common.read_lines(args[1])) do
        local f = common.fields(line)
        if f[1] == "caregiver" then
            tokens[#tokens + 1] = f[2]
        end
    end
    assert(#tokens > 0, "no caregiver tokens")
    for _, line in ipairs(common.read_lines(args[2])) do
        local f = common.fields(line)
        pools[#pools + 1] = {id = f[1], profile = f[2], min = tonumber(f[3]), lead = tonumber(f[4])}
    end
    dates = common.dates(tonumber(args[3]), 730)
    tag = args[4] or "bench"
    follow_up = args[5] or "confirm"
    if args[6] and args[6] ~= "" then
        local a, b, c = args[6]:match("^(%d+):(%d+):(%d+)$")
        window_first, window_last, window_nights = tonumber(a), tonumber(b), tonumber(c)
    end
    math.randomseed(os.time() + #tag)
    common.publish(args[7] or follow_up)
end

local function new_booking()
    local p = pools[math.random(#pools)]
    local nights, first
    if window_first then
        nights = math.random(1, window_nights)
        first = math.random(window_first, window_last - nights + 1)
    else
        nights = math.random(p.min, p.min + 4)
        -- The pools take check-outs up to 730 days ahead; stay well inside.
        first = math.random(p.lead + 1, 700 - nights)
    end
    next_token = next_token % #tokens + 1
    seq = seq + 1
    local body = string.format(
        '{"pool_id":"%s","check_in":"%s","check_out":"%s","funding":"pgb",' ..
        '"guest":{"alias":"cg%d","birth_year":%d,"care_profile":"%s","needs":[]}}',
        p.id, dates[first], dates[first + nights], next_token, math.random(1930, 2015), p.profile)
    return wrk.format("POST", "/v1/stays", {
        ["Authorization"] = "Bearer " .. tokens[next_token],
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = string.format("%s-%d", tag, seq),
    }, body)
end

function request()
    if pending_head <= pending_tail then
        local h = pending[pending_head]
        pending[pending_head] = nil
        pending_head = pending_head + 1
        local body = follow_up == "cancel" and '{"reason":"benchmark gives the bed back"}' or "{}"
        return wrk.format("POST", "/v1/stays/" .. h.id .. "/" .. follow_up, {
            ["Authorization"] = "Bearer " .. tokens[h.who],
            ["Content-Type"] = "application/json",
        }, body)
    end
    return new_booking()
end

function response(status, headers, body)
    common.count_response(status, body)
    if status == 201 then
        -- The stay's own id is the first "id" key (nested objects have none before it).
        local id = body:match('"id"%s*:%s*"([0-9a-f%-]+)"')
        local who = tonumber(body:match('"alias"%s*:%s*"cg(%d+)"'))
        if id and who then
            pending_tail = pending_tail + 1
            pending[pending_tail] = {id = id, who = who}
        else
            common.count("unparsed_201")
        end
    end
end

function done(summary, latency, requests)
    common.report(nil, summary, latency)
end
