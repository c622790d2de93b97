/**
 * The syntax check of a viewer's SDP offer, before any peer connection is built for it. werift
 * parses leniently: `v=0` alone, or lines of garbage, become an offer with no media, which then
 * fails later as "no common codec" (issue 9, item 16) after a peer connection and its sockets
 * were made. Pure, never throws.
 */

export type OfferCheck = { ok: true } | { ok: false; reason: string };

/** RFC 8866 §5: `<type>=<value>`, type one lower-case letter, value without NUL, CR or LF. */
const SDP_LINE = /^[a-z]=[^\0\r\n]*$/;
/** RFC 8866 §5.14: `m=<media> <port>[/<number of ports>] <proto> <fmt> ...`. */
const MEDIA_LINE = /^m=([a-z]+) (\d{1,5})(?:\/\d{1,5})? ([A-Za-z0-9/._-]+)(?: [^ ]+)+$/;

/**
 * Whether `sdp` is an offer a WebRTC peer could answer: `v=0` first, every line `<letter>=...`,
 * at least one audio or video media section, and what ICE and DTLS need to start: an ICE
 * username fragment and password (RFC 8839 §5.4) and a certificate fingerprint (RFC 8122 §5,
 * required by RFC 8827 §6.5), at session level or in a media section.
 */
export function checkOffer(sdp: string): OfferCheck {
  const lines = sdp.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== 'v=0') return { ok: false, reason: 'the first line must be v=0 (RFC 8866 §5.1)' };
  let media = 0;
  let avMedia = 0;
  const found = { ufrag: false, pwd: false, fingerprint: false };
  for (const [index, line] of lines.entries()) {
    if (!SDP_LINE.test(line)) {
      return { ok: false, reason: `line ${index + 1} is not <letter>=<value> (RFC 8866 §5)` };
    }
    if (line.startsWith('m=')) {
      const match = MEDIA_LINE.exec(line);
      if (!match) return { ok: false, reason: `line ${index + 1}: malformed m= line (RFC 8866 §5.14)` };
      media++;
      if (match[1] === 'audio' || match[1] === 'video') avMedia++;
    } else if (line.startsWith('a=ice-ufrag:') && line.length > 'a=ice-ufrag:'.length) found.ufrag = true;
    else if (line.startsWith('a=ice-pwd:') && line.length > 'a=ice-pwd:'.length) found.pwd = true;
    else if (/^a=fingerprint:\S+ \S+/.test(line)) found.fingerprint = true;
  }
  if (media === 0) return { ok: false, reason: 'the offer has no media section (m= line)' };
  if (avMedia === 0) return { ok: false, reason: 'the offer has no audio or video media section' };
  if (!found.ufrag || !found.pwd)
    return { ok: false, reason: 'the offer has no a=ice-ufrag / a=ice-pwd (RFC 8839 §5.4)' };
  if (!found.fingerprint) return { ok: false, reason: 'the offer has no a=fingerprint (RFC 8122 §5)' };
  return { ok: true };
}
