import { describe, expect, it } from 'vitest';
import { TcpAdmission } from '../../../turn/tcp-admission.js';

describe('TcpAdmission (TCP/TLS connections without an allocation, per source IP)', () => {
  it('admits up to the bound per IP, counting only connections without an allocation', () => {
    const allocated = new Set<string>();
    const admission = new TcpAdmission(2, (key) => allocated.has(key));
    expect([admission.admit('1.2.3.4', 'tcp:1'), admission.admit('1.2.3.4', 'tcp:2')]).toEqual([true, true]);
    expect(admission.admit('1.2.3.4', 'tcp:3')).toBe(false);
    expect(admission.admit('5.6.7.8', 'tcp:4')).toBe(true); // another IP has its own bound
    allocated.add('tcp:1'); // an allocation frees its connection's place
    expect(admission.admit('1.2.3.4', 'tcp:5')).toBe(true);
    expect(admission.admit('1.2.3.4', 'tcp:6')).toBe(false);
    admission.remove('1.2.3.4', 'tcp:2'); // so does closing
    expect(admission.admit('1.2.3.4', 'tcp:7')).toBe(true);
    allocated.delete('tcp:1'); // the allocation ended, the connection stayed: it counts again
    expect(admission.admit('1.2.3.4', 'tcp:8')).toBe(false);
  });
});
