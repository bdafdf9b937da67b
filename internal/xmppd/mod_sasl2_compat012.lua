-- mod_sasl2_compat012: lets prosody-modules' mod_sasl2, mod_sasl2_bind2 and mod_sasl2_fast
-- (Debian prosody-modules hg 556bf57d6417, 2023-02-23, written against Prosody trunk) run on
-- Prosody 0.12.3. It patches, from outside those modules, the trunk APIs they call that 0.12 lacks
-- (each one is a traceback in debug.log without this):
--   1. conn:ssl_info(), conn:ssl_peerfinished()  mod_sasl2:61, no <stream:features/> after STARTTLS
--   2. event.stream (the client's stream header)  mod_sasl2_fast:100, no features on any stream
--   3. util.datetime.datetime(<float>)             mod_sasl2_fast:172, <success/> with token never sent
--   4. stanza:get_child_attr()                     mod_sasl2_fast:124, FAST auth never answered
--   5. stanza:add_error()                          mod_sasl2_bind2, only when a bind fails
-- conn:ssl_exportkeyingmaterial() is deliberately NOT provided: without 'tls-exporter' channel
-- binding, HT-SHA-256-EXPR (broken on 0.12: mod_sasl2_fast:188) is not advertised on TLS 1.3.
-- mod_sasl2_sm is not fixed here (0.12 mod_smacks has no do_enable/do_resume): it needs the second
-- shim, mod_sasl2_sm_compat012, loaded with it when Options.InlineSM is set.

local filters = require "util.filters";
local datetime = require "util.datetime";
local stanza_mt = require "util.stanza".stanza_mt;

-- 1. TLS accessors that trunk's net.server has, backed by the LuaSec socket. Added per
-- connection (net.server_epoll's shared interface table is left alone).
local function ssl_info(conn)
	local sock = conn:socket();
	return sock and sock.info and sock:info() or nil;
end
local function ssl_peerfinished(conn)
	local sock = conn:socket();
	return sock and sock.getpeerfinished and sock:getpeerfinished() or nil;
end

-- 2. 0.12's mod_c2s/mod_websocket call session:open_stream(host, <client's 'from'>) and that
-- calls session:stream_attrs(from, to, attr) if set; remember 'to' (the client's 'from').
-- The filter hook runs for every new session, before its first stream header.
local function record_stream_from(session, _, to)
	session.compat012_stream_from = to;
end
local function on_new_session(session)
	if session.type == "c2s_unauthed" and session.stream_attrs == nil then
		session.stream_attrs = record_stream_from;
	end
end
filters.add_filter_hook(on_new_session);
function module.unload()
	filters.remove_filter_hook(on_new_session);
end

-- Runs before mod_sasl2's stream-features handler (priority 1), which passes event.stream on to
-- "advertise-sasl-features", where mod_sasl2_fast reads event.stream.from.
module:hook("stream-features", function (event)
	local origin = event.origin;
	if event.stream == nil then
		event.stream = { from = origin.compat012_stream_from };
	end
	local conn = origin.conn;
	if conn and conn.ssl_info == nil then
		conn.ssl_info, conn.ssl_peerfinished = ssl_info, ssl_peerfinished;
	end
end, 10);

-- 3. mod_sasl2_fast passes util.time.now()+ttl, a float; os.date on Lua 5.4 wants an integer.
-- util.datetime is a shared table and the module looks the function up at call time.
if not datetime.compat012_floored then
	local datetime_orig = datetime.datetime;
	datetime.datetime = function (t)
		return datetime_orig(t and math.floor(t));
	end
	datetime.compat012_floored = true;
end

-- 4. From trunk's util.stanza.
if not stanza_mt.get_child_attr then
	function stanza_mt:get_child_attr(name, xmlns, attr)
		local tag = self:get_child(name, xmlns);
		return tag and tag.attr[attr] or nil;
	end
end

-- 5. mod_sasl2_bind2 calls add_error({ type, condition, text }) (util.error-like table only).
if not stanza_mt.add_error then
	local xmlns_stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
	function stanza_mt:add_error(err)
		self:tag("error", { type = err.type or "cancel" })
			:tag(err.condition or "undefined-condition", { xmlns = xmlns_stanzas }):up();
		if err.text then
			self:text_tag("text", err.text, { xmlns = xmlns_stanzas });
		end
		return self:up();
	end
end
