/**
 * http-contract/: the HTTP API's documents as zod schemas, one definition of each shape shared
 * by the server's routes (which validate and serialize with them and publish them in
 * `/openapi.json`) and the CLI (which parses the server's answers with them). Imports only zod (and the edge config's zod schema).
 */
export { deviceIdParams, healthSchema, type ProblemDocument, problemSchema } from './common.js';
export {
  type DeviceDocument,
  deviceAddSchema,
  deviceDeletedSchema,
  deviceDeleteQuerySchema,
  deviceListSchema,
  deviceRenameSchema,
  deviceSchema,
  type IssuedDeviceDocument,
  issuedDeviceSchema,
  recordingPolicySchema,
} from './devices.js';
export {
  gapSchema,
  type RecordingListing,
  rangeQuerySchema,
  recordingListingSchema,
  segmentSchema,
} from './recordings.js';
export { type SessionDocument, sessionSchema, signInSchema } from './session.js';
export { type StillSource, stillQuerySchema, stillSourceSchema } from './stills.js';
export {
  grantChangeSchema,
  grantSchema,
  setupSchema,
  setupStateSchema,
  type UserDocument,
  userAddSchema,
  userGrantParams,
  userListSchema,
  userNameParams,
  userPasswordSchema,
  userRoleSchema,
  userSchema,
} from './users.js';
