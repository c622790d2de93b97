/**
 * recordings/: the archive. Recorders (ffmpeg, `-c copy`, fragmented MP4 segments) fed by
 * the media node's RTP, the segment index in the registry, startup recovery, retention,
 * and range export. The only component that runs ffmpeg for recordings.
 */
import path from 'node:path';
import type { Config } from '../config/index.js';

export type { RecordingActivity } from './activity.js';
export { Archive, type ArchiveOptions, type ExportResult } from './archive.js';
export {
  type ArchivePeers,
  nodeUnavailable,
  openPeer,
  PEER_SEGMENT_PREFIX,
  peerSegmentPath,
  peerThumbnailPath,
} from './archive-peers.js';
export type { ExportPlan } from './export-plan.js';
export { recordingListingJson } from './listing-json.js';
export type { RecordedStream, Recorder } from './recorder.js';
export type { RecorderFault } from './recorder-types.js';
export { type RecordingDeps, RecordingService, type RecordingStats } from './service.js';
export { STILL_MAX_WIDTH } from './still-jpeg.js';
export { type Still, type StillKeyframe, type StillKeyframeSource, Stills } from './stills.js';
export { THUMBNAIL_WIDTH, Thumbnails, thumbnailPath } from './thumbnail.js';
export { parseRange, parseTime } from './time-range.js';

/** Where recordings live for a config: `recording.dir`, else `<dataDir>/recordings`. */
export function recordingsDir(config: Pick<Config, 'dataDir' | 'recording'>): string {
  return path.resolve(config.recording.dir ?? path.join(config.dataDir, 'recordings'));
}
