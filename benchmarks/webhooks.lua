-- Sends pre-signed Twilio callbacks, one per line of the file given after "--":
--   path <TAB> signature <TAB> form body
-- With "bare" as the second argument, every request goes to /bench/ok instead; with
-- "store", to /bench/store/<kind>/<dial>, the bare view that only stores it.
local lines = {}
local index = 0
local mode = ""
statuses = {}
sent = 0
forged = 0
wrapped = 0

function init(args)
  for line in io.lines(args[1]) do
    lines[#lines + 1] = line
  end
  mode = args[2] or ""
end

function request()
  index = index + 1
  if index > #lines then
    index = 1
    wrapped = wrapped + 1
  end
  local path, signature, body = lines[index]:match("^(%S+)\t(%S+)\t(.*)$")
  if mode == "bare" then
    path = "/bench/ok"
  elseif mode == "store" then
    path = path:gsub("^/webhooks/twilio/", "/bench/store/")
  end
  sent = sent + 1
  if signature:sub(1, 6) == "FORGED" then forged = forged + 1 end
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = signature,
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write("SENT ", thread:get("sent"), "\n")
    io.write("FORGED ", thread:get("forged"), "\n")
    io.write("WRAPPED ", thread:get("wrapped"), "\n")
    for status, count in pairs(thread:get("statuses")) do
      io.write("STATUS ", status, " ", count, "\n")
    end
  end
  io.write("RPS ", summary.requests / (summary.duration / 1e6), "\n")
  io.write("P50_US ", latency:percentile(50), "\n")
  io.write("P99_US ", latency:percentile(99), "\n")
end
