export {
  issueTurnCredentials,
  parseTurnUsername,
  type TurnCredentials,
  turnPassword,
  verifyTurnCredentials,
} from './credentials.js';
