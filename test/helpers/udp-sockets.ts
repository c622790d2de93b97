import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** One UDP socket as the kernel lists it (Linux: /proc/net/udp and udp6). */
export interface UdpSocketRow {
  family: 4 | 6;
  /** Local address as the table writes it (hex, in the kernel's byte order). */
  localHex: string;
  localPort: number;
  /** Bytes queued for reading, as the kernel accounts them (about twice the payload for small datagrams). */
  rxQueue: number;
  inode: string;
  /** Datagrams dropped with a full receive buffer. */
  drops: number;
}

/** Every UDP socket of the machine's (or this network namespace's) tables. */
export function udpSocketRows(): UdpSocketRow[] {
  const rows: UdpSocketRow[] = [];
  for (const [family, table] of [
    [4, '/proc/net/udp'],
    [6, '/proc/net/udp6'],
  ] as const) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 13) continue;
      const [localHex, hexPort] = fields[1]!.split(':') as [string, string];
      rows.push({
        family,
        localHex,
        localPort: Number.parseInt(hexPort, 16),
        rxQueue: Number.parseInt(fields[4]!.split(':')[1]!, 16),
        inode: fields[9]!,
        drops: Number(fields[12]),
      });
    }
  }
  return rows;
}

/** Inodes of the sockets process `pid` holds (empty once it is gone). */
export function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed while we looked
    }
  }
  return inodes;
}
