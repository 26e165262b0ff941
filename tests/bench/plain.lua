-- plain.lua: wrk script for one fixed, unauthenticated GET (run.sh uses GET /livez): the HTTP
-- layer's own ceiling on this machine, measured in the same run as everything else. Sends
-- nothing but the path it is given.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local req

function setup(thread)
    common.setup(thread)
end

function init(args)
    req = wrk.format("GET", args[1] or "/livez")
    common.publish("plain")
end

function request()
    return req
end

function done(summary, latency, requests)
    common.report(nil, summary, latency)
end
