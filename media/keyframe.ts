/**
 * Does this RTP payload start a keyframe? Used to start each new viewer on a keyframe and
 * to know when a requested keyframe arrived. Pure byte inspection.
 */
export function isKeyframeStart(mimeType: string, payload: Uint8Array): boolean {
  const codec = mimeType.toLowerCase();
  if (codec === 'video/h264') return h264StartsKeyframe(payload);
  if (codec === 'video/vp8') return vp8StartsKeyframe(payload);
  return false;
}

/** RFC 6184: an SPS (7) or IDR slice (5) as a single NAL, inside a STAP-A, or starting an FU-A. */
function h264StartsKeyframe(payload: Uint8Array): boolean {
  if (payload.length < 1) return false;
  const type = payload[0]! & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 24) {
    // STAP-A: [hdr][size16][nal]...
    let offset = 1;
    while (offset + 2 < payload.length) {
      const size = (payload[offset]! << 8) | payload[offset + 1]!;
      const nalType = payload[offset + 2]! & 0x1f;
      if (nalType === 5 || nalType === 7) return true;
      offset += 2 + size;
    }
    return false;
  }
  if (type === 28 && payload.length >= 2) {
    const fuHeader = payload[1]!;
    const startBit = (fuHeader & 0x80) !== 0;
    const nalType = fuHeader & 0x1f;
    return startBit && (nalType === 5 || nalType === 7);
  }
  return false;
}

/** RFC 7741: start of partition 0 (S=1, PID=0) whose VP8 frame tag has P=0 (key frame). */
function vp8StartsKeyframe(payload: Uint8Array): boolean {
  if (payload.length < 1) return false;
  const first = payload[0]!;
  const start = (first & 0x10) !== 0 && (first & 0x07) === 0;
  if (!start) return false;
  let offset = 1;
  if (first & 0x80) {
    // X: extension byte, then optional PictureID (1-2 bytes), TL0PICIDX, TID/KEYIDX.
    if (payload.length < 2) return false;
    const ext = payload[1]!;
    offset = 2;
    if (ext & 0x80) offset += payload[offset]! & 0x80 ? 2 : 1;
    if (ext & 0x40) offset += 1;
    if (ext & 0x30) offset += 1;
  }
  return offset < payload.length && (payload[offset]! & 0x01) === 0;
}
