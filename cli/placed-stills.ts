import type { StillKeyframeSource } from '../recordings/stills.js';

/**
 * In a cluster, a still's wake (`?wake=1`) makes the camera stream to this node only where its
 * media may live: here when this node holds the camera's lease or takes it now (as a viewer
 * would). A camera held by another node is not woken here (that would offer it a second session
 * and take it from its holder, D39): the still is then the latest recording's, as on a node that
 * cannot wake it. The latest live keyframe is whatever this node's media has (the holder's).
 */
export function placedKeyframes(
  source: StillKeyframeSource,
  routing: { route(camera: string): Promise<{ at: string }> },
): StillKeyframeSource {
  return {
    latest: (cameraId, known) => source.latest(cameraId, known),
    wake: async (cameraId, options) => {
      const place = await routing.route(cameraId).catch(() => undefined);
      return place?.at === 'here' ? source.wake(cameraId, options) : undefined;
    },
  };
}
