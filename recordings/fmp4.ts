/**
 * Fragmented MP4 as ffmpeg writes it (`ftyp moov (moof mdat)*`), read only as far as the
 * top-level box headers. After a crash the file ends inside a fragment; cutting it after
 * the last whole `mdat` leaves a file every player accepts. Pure: works through a reader
 * of byte ranges, so a file is never loaded whole.
 */

export interface Box {
  type: string;
  offset: number;
  size: number;
}

/** Reads up to `length` bytes at `offset` (fewer at the end of the data). */
export type ByteReader = (offset: number, length: number) => Uint8Array;

export function bytesReader(data: Uint8Array): ByteReader {
  return (offset, length) => data.subarray(offset, Math.min(data.length, offset + length));
}

/** Top-level boxes that fit entirely in `totalSize` bytes; stops at the first truncated or bogus one. */
export function topLevelBoxes(totalSize: number, read: ByteReader): { boxes: Box[]; complete: boolean } {
  const boxes: Box[] = [];
  let offset = 0;
  while (offset + 8 <= totalSize) {
    const header = read(offset, 16);
    if (header.length < 8) break;
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    let size = view.getUint32(0);
    const type = String.fromCharCode(header[4]!, header[5]!, header[6]!, header[7]!);
    if (!/^[a-z0-9 ]{4}$/i.test(type)) return { boxes, complete: false };
    if (size === 1) {
      if (header.length < 16) return { boxes, complete: false };
      const big = view.getBigUint64(8);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) return { boxes, complete: false };
      size = Number(big);
    } else if (size === 0) {
      size = totalSize - offset; // "extends to the end of the file"
    }
    if (size < 8 || offset + size > totalSize) return { boxes, complete: false };
    boxes.push({ type, offset, size });
    offset += size;
  }
  return { boxes, complete: offset === totalSize };
}

/**
 * How many leading bytes of a possibly truncated fragmented MP4 form a playable file: all
 * of a whole unfragmented MP4; else up to the end of the last `mdat` that follows a
 * `moof`; 0 when there is no header (`moov`) or no whole fragment.
 */
export function playableLength(totalSize: number, read: ByteReader): number {
  const { boxes, complete } = topLevelBoxes(totalSize, read);
  if (!boxes.some((box) => box.type === 'moov')) return 0;
  // A whole classic MP4 (its index in moov, no fragments) is left as it is.
  if (complete && !boxes.some((box) => box.type === 'moof')) return totalSize;
  return fragmentsEnd(boxes);
}

function fragmentsEnd(boxes: Box[]): number {
  let end = 0;
  let sawMoof = false;
  for (const box of boxes) {
    if (box.type === 'moof') sawMoof = true;
    else if (box.type === 'mdat' && sawMoof) {
      end = box.offset + box.size;
      sawMoof = false;
    }
  }
  return end;
}
