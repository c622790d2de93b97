import { isIP } from 'node:net';

/**
 * A viewer's trickle ICE body (`application/trickle-ice-sdpfrag`, RFC 8840 §9; WHEP
 * draft-ietf-wish-whep §4.3.1), checked before werift sees it: werift throws plain errors on
 * candidates it cannot parse, which reached the HTTP client as a 500 (issue 9, item 15).
 * Pure, never throws.
 */

export type FragmentResult =
  | { ok: true; candidates: string[] }
  | { ok: false; code: 'SDPFRAG_INVALID' | 'CANDIDATE_INVALID'; reason: string };

/** More than a browser ever gathers; a bound on the work one PATCH can ask for. */
export const MAX_CANDIDATES_PER_PATCH = 64;
/**
 * Remote candidates one WHEP session takes in all: each one is a target of ICE checks (and a
 * `.local` one an mDNS query), so a viewer must not add them without end, PATCH after PATCH.
 */
export const MAX_CANDIDATES_PER_SESSION = 128;

const SDP_LINE = /^[a-z]=[^\0\r\n]*$/;

/**
 * The `a=candidate:` values of the fragment (without `a=`), every one valid by the grammar of
 * RFC 8839 §5.1. Other lines (`a=ice-ufrag`, `a=mid`, `m=`, `a=end-of-candidates`) must be
 * well-formed SDP lines and are otherwise ignored.
 */
export function parseTrickleFragment(text: string): FragmentResult {
  const candidates: string[] = [];
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    if (line === '') continue;
    if (!SDP_LINE.test(line)) {
      return { ok: false, code: 'SDPFRAG_INVALID', reason: `line ${index + 1} is not <letter>=<value>` };
    }
    if (!line.startsWith('a=candidate:')) continue;
    const problem = candidateProblem(line.slice('a=candidate:'.length));
    if (problem) {
      return {
        ok: false,
        code: 'CANDIDATE_INVALID',
        reason: `line ${index + 1}: ${problem} (RFC 8839 §5.1)`,
      };
    }
    if (candidates.length === MAX_CANDIDATES_PER_PATCH) {
      return {
        ok: false,
        code: 'SDPFRAG_INVALID',
        reason: `more than ${MAX_CANDIDATES_PER_PATCH} candidates in one PATCH`,
      };
    }
    candidates.push(line.slice(2));
  }
  return { ok: true, candidates };
}

const ICE_CHARS = /^[A-Za-z0-9+/]{1,32}$/;
const TOKEN = /^[!#$%&'*+\-.^_`{|}~A-Za-z0-9]+$/;
const DIGITS = /^\d+$/;
/** RFC 1123 host names (e.g. the `<uuid>.local` names of browsers' mDNS candidates). */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * What is wrong with one candidate value (after `candidate:`), or undefined:
 * `foundation component transport priority address port typ type [raddr a] [rport p] *(name value)`.
 */
export function candidateProblem(value: string): string | undefined {
  const parts = value.split(' ');
  if (parts.length < 8) return 'a candidate has at least 8 fields';
  const [foundation, component, transport, priority, address, port, typ, type] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!ICE_CHARS.test(foundation)) return 'the foundation is 1-32 letters, digits, + or /';
  if (!isNumberIn(component, 1, 256)) return 'the component id is 1-256';
  if (!TOKEN.test(transport)) return 'the transport is not a token';
  if (!isNumberIn(priority, 0, 0xffff_ffff)) return 'the priority is 0-4294967295';
  if (!isAddress(address)) return 'the connection address is not an IP address or host name';
  if (!isNumberIn(port, 0, 65_535)) return 'the port is 0-65535';
  if (typ !== 'typ' || !TOKEN.test(type)) return "expected 'typ <candidate type>'";
  const rest = parts.slice(8);
  if (rest.length % 2 !== 0) return 'extension attributes come in name-value pairs';
  for (let i = 0; i < rest.length; i += 2) {
    const name = rest[i]!;
    const attribute = rest[i + 1]!;
    if (!TOKEN.test(name) || attribute === '') return `malformed extension attribute '${name}'`;
    if (name === 'raddr' && !isAddress(attribute)) return 'raddr is not an IP address or host name';
    if (name === 'rport' && !isNumberIn(attribute, 0, 65_535)) return 'rport is 0-65535';
  }
  return undefined;
}

function isNumberIn(text: string, min: number, max: number): boolean {
  if (!DIGITS.test(text) || text.length > 10) return false;
  const n = Number(text);
  return n >= min && n <= max;
}

/** An IP address, or a host name whose last label is not all digits (RFC 3696 §2: that is a bad IPv4). */
function isAddress(text: string): boolean {
  return isIP(text) !== 0 || (HOST_NAME.test(text) && !/(?:^|\.)\d+\.?$/.test(text));
}
