-- mod_waxwing_hireslog: a log sink "waxwing_hires" like "file" but stamped in UTC to the
-- microsecond (util.time.now), so that the debug log of a test server can be laid beside the
-- client's and the relay's logs (slog's time=…Z): Prosody's own stamps have whole seconds, and
-- when it read a connection's bytes (its "Handled N incoming stanzas") is what tells a busy server
-- from a stalled one. Written by waxwing internal/xmppd with Options.Debug; the config's log table
-- names the sink. Lines logged before the module loads (configuration, certificates, the first
-- modules) are not written: errors among them still reach prosody.log.
module:set_global();

local now = require "util.time".now;
local format = require "util.format".format; -- the logger's own: %q of anything
local os_date, floor = os.date, math.floor;

require "core.loggingmanager".register_sink_type("waxwing_hires", function (sink_config)
	local f = io.open(sink_config.filename, "a+");
	if not f then return function () return false; end end
	f:setvbuf("line");
	return function (name, level, message, ...)
		local t = now();
		f:write(os_date("!%H:%M:%S", floor(t)), string.format(".%06d ", floor((t % 1) * 1e6)), name, "\t", level, "\t", format(message, ...), "\n");
	end;
end);
