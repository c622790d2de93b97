/*
 * Lookout's native SRTP sender (issue 10, docs/decisions.md D43), and the decryption of a camera's
 * AES-GCM SRTP for werift's receive path (D44).
 *
 * Protects one viewer's RTP packet with SRTP and writes it to the viewer's UDP socket in one
 * call: the session keeps its keyed OpenSSL contexts (Node's crypto API cannot give a GCM or
 * CTR cipher a new IV, so the JavaScript path builds a cipher per packet), and the packet goes
 * out with one scatter-gather sendmsg on the socket's descriptor, without Node's dgram layer.
 *
 * Profiles: AEAD_AES_128_GCM (RFC 7714) and AES128_CM_HMAC_SHA1_80 (RFC 3711), the two werift
 * negotiates. OpenSSL is the copy Node links (its symbols are exported to addons); nothing else
 * is linked. Every function checks its arguments and throws a TypeError instead of crashing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define PROFILE_AES128_CM_HMAC_SHA1_80 1
#define PROFILE_AEAD_AES_128_GCM 7
#define RTP_HEADER_MIN 12
#define MAX_HEADER 256
#define MAX_PAYLOAD 4096
#define MAX_TAG 16

typedef struct {
  int profile;
  int decrypt;            /* a receiving session (AEAD_AES_128_GCM only): unprotect() */
  EVP_CIPHER_CTX *cipher; /* keyed once; each packet only sets its IV */
  HMAC_CTX *hmac;         /* AES-CM only, keyed once */
  uint8_t salt[14];
  struct sockaddr_storage dest;
  socklen_t dest_len;
  uint8_t out[MAX_PAYLOAD + MAX_TAG];
} session_t;

static void session_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  session_t *s = data;
  if (s->cipher) EVP_CIPHER_CTX_free(s->cipher);
  if (s->hmac) HMAC_CTX_free(s->hmac);
  free(s);
}

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_SRTP_NATIVE_ARGUMENT", message);
  return NULL;
}

static int get_buffer(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is_buffer = false;
  if (napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer) return 0;
  return napi_get_buffer_info(env, v, (void **)data, len) == napi_ok;
}

static session_t *get_session(napi_env env, napi_value v) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external) return NULL;
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return data;
}

/*
 * session(profile, key, salt, authKey?, decrypt?) -> External. A decrypting session (`decrypt`
 * true) serves unprotect() and only AEAD_AES_128_GCM; the others serve protect() and send().
 */
static napi_value create_session(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return throw_type(env, "session(profile, key, salt, authKey?, decrypt?)");
  bool decrypt = false;
  if (argc >= 5 && napi_get_value_bool(env, argv[4], &decrypt) != napi_ok) return throw_type(env, "decrypt must be a boolean");
  int32_t profile = 0;
  if (napi_get_value_int32(env, argv[0], &profile) != napi_ok) return throw_type(env, "profile must be a number");
  uint8_t *key, *salt, *auth = NULL;
  size_t key_len, salt_len, auth_len = 0;
  if (!get_buffer(env, argv[1], &key, &key_len) || key_len != 16) return throw_type(env, "key must be 16 bytes");
  if (!get_buffer(env, argv[2], &salt, &salt_len) || salt_len < 12 || salt_len > 14) {
    return throw_type(env, "salt must be 12 to 14 bytes");
  }
  if (decrypt && profile != PROFILE_AEAD_AES_128_GCM) return throw_type(env, "decrypting sessions are AEAD_AES_128_GCM only");
  if (profile == PROFILE_AES128_CM_HMAC_SHA1_80) {
    if (argc < 4 || !get_buffer(env, argv[3], &auth, &auth_len) || auth_len != 20) {
      return throw_type(env, "authKey must be 20 bytes for AES128_CM_HMAC_SHA1_80");
    }
    if (salt_len != 14) return throw_type(env, "salt must be 14 bytes for AES128_CM_HMAC_SHA1_80");
  } else if (profile != PROFILE_AEAD_AES_128_GCM) {
    return throw_type(env, "unsupported SRTP profile");
  }
  session_t *s = calloc(1, sizeof(session_t));
  if (!s) return throw_type(env, "out of memory");
  s->profile = profile;
  s->decrypt = decrypt;
  memcpy(s->salt, salt, salt_len);
  s->cipher = EVP_CIPHER_CTX_new();
  int ok = s->cipher != NULL;
  if (ok && decrypt) {
    ok = EVP_DecryptInit_ex(s->cipher, EVP_aes_128_gcm(), NULL, NULL, NULL) == 1 &&
         EVP_CIPHER_CTX_ctrl(s->cipher, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
         EVP_DecryptInit_ex(s->cipher, NULL, NULL, key, NULL) == 1;
  } else if (ok && profile == PROFILE_AEAD_AES_128_GCM) {
    ok = EVP_EncryptInit_ex(s->cipher, EVP_aes_128_gcm(), NULL, NULL, NULL) == 1 &&
         EVP_CIPHER_CTX_ctrl(s->cipher, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
         EVP_EncryptInit_ex(s->cipher, NULL, NULL, key, NULL) == 1;
  } else if (ok) {
    ok = EVP_EncryptInit_ex(s->cipher, EVP_aes_128_ctr(), NULL, key, NULL) == 1;
    s->hmac = HMAC_CTX_new();
    ok = ok && s->hmac && HMAC_Init_ex(s->hmac, auth, (int)auth_len, EVP_sha1(), NULL) == 1;
  }
  if (!ok) {
    session_free(env, s, NULL);
    napi_throw_error(env, "ERR_SRTP_NATIVE_CRYPTO", "OpenSSL could not set up the SRTP session");
    return NULL;
  }
  napi_value result;
  if (napi_create_external(env, s, session_free, NULL, &result) != napi_ok) {
    session_free(env, s, NULL);
    return NULL;
  }
  return result;
}

/* destination(session, address, port) -> boolean (false: not an IPv4/IPv6 address) */
static napi_value set_destination(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  session_t *s = argc == 3 ? get_session(env, argv[0]) : NULL;
  if (!s) return throw_type(env, "destination(session, address, port)");
  char address[64];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[1], address, sizeof address, &len) != napi_ok) {
    return throw_type(env, "address must be a string");
  }
  uint32_t port = 0;
  if (napi_get_value_uint32(env, argv[2], &port) != napi_ok || port == 0 || port > 65535) {
    return throw_type(env, "port must be 1-65535");
  }
  char *zone = strchr(address, '%'); /* link-local zone: not routed by this path */
  struct sockaddr_in *v4 = (struct sockaddr_in *)&s->dest;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&s->dest;
  memset(&s->dest, 0, sizeof s->dest);
  s->dest_len = 0;
  if (!zone && inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    s->dest_len = sizeof *v4;
  } else if (!zone && inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    s->dest_len = sizeof *v6;
  }
  napi_value result;
  napi_get_boolean(env, s->dest_len != 0, &result);
  return result;
}

/* RFC 7714 §8.1: the AES-GCM IV of an RTP packet, (00 00 || SSRC || ROC || SEQ) XOR salt, from its header. */
static void gcm_iv(const session_t *s, const uint8_t *header, uint32_t roc, uint8_t iv[12]) {
  const uint8_t plain[12] = {0, 0, header[8], header[9], header[10], header[11],
                             roc >> 24, roc >> 16, roc >> 8, roc, header[2], header[3]};
  for (int i = 0; i < 12; i++) iv[i] = plain[i] ^ s->salt[i];
}

/* Encrypts payload into s->out and appends the tag; returns the bytes written or -1. */
static int protect(session_t *s, const uint8_t *header, size_t header_len, const uint8_t *payload,
                   size_t payload_len, uint32_t roc) {
  uint32_t ssrc = ((uint32_t)header[8] << 24) | ((uint32_t)header[9] << 16) | ((uint32_t)header[10] << 8) | header[11];
  uint16_t seq = (uint16_t)((header[2] << 8) | header[3]);
  uint8_t iv[16];
  int n = 0, fin = 0;
  if (s->profile == PROFILE_AEAD_AES_128_GCM) {
    gcm_iv(s, header, roc, iv);
    if (EVP_EncryptInit_ex(s->cipher, NULL, NULL, NULL, iv) != 1) return -1;
    if (EVP_EncryptUpdate(s->cipher, NULL, &n, header, (int)header_len) != 1) return -1;
    if (EVP_EncryptUpdate(s->cipher, s->out, &n, payload, (int)payload_len) != 1) return -1;
    if (EVP_EncryptFinal_ex(s->cipher, s->out + n, &fin) != 1) return -1;
    if (EVP_CIPHER_CTX_ctrl(s->cipher, EVP_CTRL_GCM_GET_TAG, 16, s->out + payload_len) != 1) return -1;
    return (int)payload_len + 16;
  }
  /* RFC 3711 §4.1.1: IV = (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16). */
  memset(iv, 0, sizeof iv);
  memcpy(iv, s->salt, 14);
  iv[4] ^= ssrc >> 24;
  iv[5] ^= ssrc >> 16;
  iv[6] ^= ssrc >> 8;
  iv[7] ^= ssrc;
  iv[8] ^= roc >> 24;
  iv[9] ^= roc >> 16;
  iv[10] ^= roc >> 8;
  iv[11] ^= roc;
  iv[12] ^= seq >> 8;
  iv[13] ^= seq;
  if (EVP_EncryptInit_ex(s->cipher, NULL, NULL, NULL, iv) != 1) return -1;
  if (EVP_EncryptUpdate(s->cipher, s->out, &n, payload, (int)payload_len) != 1) return -1;
  /* §4.2: the 80-bit tag is HMAC-SHA1 over header, encrypted payload and ROC. */
  uint8_t roc_be[4] = {roc >> 24, roc >> 16, roc >> 8, roc};
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC_Init_ex(s->hmac, NULL, 0, NULL, NULL) != 1) return -1;
  if (HMAC_Update(s->hmac, header, header_len) != 1) return -1;
  if (HMAC_Update(s->hmac, s->out, payload_len) != 1) return -1;
  if (HMAC_Update(s->hmac, roc_be, 4) != 1) return -1;
  if (HMAC_Final(s->hmac, mac, &mac_len) != 1 || mac_len < 10) return -1;
  memcpy(s->out + payload_len, mac, 10);
  return (int)payload_len + 10;
}

/* Reads (session, header, payload, roc) shared by protect() and send(); NULL session: thrown. */
static session_t *packet_args(napi_env env, napi_value *argv, uint8_t **header, size_t *header_len,
                              uint8_t **payload, size_t *payload_len, uint32_t *roc) {
  session_t *s = get_session(env, argv[0]);
  if (!s || s->decrypt) {
    throw_type(env, "session must be a sending session from session()");
    return NULL;
  }
  if (!get_buffer(env, argv[1], header, header_len) || *header_len < RTP_HEADER_MIN || *header_len > MAX_HEADER) {
    throw_type(env, "header must be an RTP header (12-256 bytes)");
    return NULL;
  }
  if (!get_buffer(env, argv[2], payload, payload_len) || *payload_len > MAX_PAYLOAD) {
    throw_type(env, "payload must be a Buffer of at most 4096 bytes");
    return NULL;
  }
  if (napi_get_value_uint32(env, argv[3], roc) != napi_ok) {
    throw_type(env, "roc must be a number");
    return NULL;
  }
  return s;
}

/* protect(session, header, payload, roc) -> Buffer (encrypted payload, then tag) */
static napi_value protect_packet(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return throw_type(env, "protect(session, header, payload, roc)");
  uint8_t *header, *payload;
  size_t header_len, payload_len;
  uint32_t roc;
  session_t *s = packet_args(env, argv, &header, &header_len, &payload, &payload_len, &roc);
  if (!s) return NULL;
  int n = protect(s, header, header_len, payload, payload_len, roc);
  if (n < 0) {
    napi_throw_error(env, "ERR_SRTP_NATIVE_CRYPTO", "OpenSSL failed to protect the packet");
    return NULL;
  }
  napi_value result;
  void *copy = NULL;
  if (napi_create_buffer_copy(env, (size_t)n, s->out, &copy, &result) != napi_ok) return NULL;
  return result;
}

/*
 * send(session, fd, header, payload, roc) -> bytes written, or a negative errno (EAGAIN: the
 * socket's buffer is full and the packet is dropped, as a real-time sender should; the caller
 * counts it). The socket is the caller's (a Node dgram socket's descriptor, non-blocking).
 */
static napi_value send_packet(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) return throw_type(env, "send(session, fd, header, payload, roc)");
  int32_t fd = -1;
  if (napi_get_value_int32(env, argv[1], &fd) != napi_ok || fd < 0) return throw_type(env, "fd must be a descriptor");
  napi_value rest[4] = {argv[0], argv[2], argv[3], argv[4]};
  uint8_t *header, *payload;
  size_t header_len, payload_len;
  uint32_t roc;
  session_t *s = packet_args(env, rest, &header, &header_len, &payload, &payload_len, &roc);
  if (!s) return NULL;
  int result_value;
  if (s->dest_len == 0) {
    result_value = -EDESTADDRREQ;
  } else {
    int n = protect(s, header, header_len, payload, payload_len, roc);
    if (n < 0) {
      result_value = -EPROTO;
    } else {
      struct iovec iov[2] = {{header, header_len}, {s->out, (size_t)n}};
      struct msghdr msg;
      memset(&msg, 0, sizeof msg);
      msg.msg_name = &s->dest;
      msg.msg_namelen = s->dest_len;
      msg.msg_iov = iov;
      msg.msg_iovlen = 2;
      ssize_t sent;
      do {
        sent = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      } while (sent < 0 && errno == EINTR);
      result_value = sent < 0 ? -errno : (int)sent;
    }
  }
  napi_value result;
  napi_create_int32(env, result_value, &result);
  return result;
}

/*
 * unprotect(session, packet, payloadOffset, roc) -> Buffer (the RTP packet: header, then the
 * decrypted payload) or undefined when the packet does not authenticate. AEAD_AES_128_GCM
 * (RFC 7714 §8): the header up to payloadOffset (with its CSRCs and extension) is the AAD and the
 * last 16 bytes the tag.
 */
static napi_value unprotect_packet(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return throw_type(env, "unprotect(session, packet, payloadOffset, roc)");
  session_t *s = get_session(env, argv[0]);
  if (!s || !s->decrypt) return throw_type(env, "session must be a decrypting session from session()");
  uint8_t *packet;
  size_t len;
  if (!get_buffer(env, argv[1], &packet, &len)) return throw_type(env, "packet must be a Buffer");
  uint32_t offset = 0, roc = 0;
  if (napi_get_value_uint32(env, argv[2], &offset) != napi_ok) return throw_type(env, "payloadOffset must be a number");
  if (napi_get_value_uint32(env, argv[3], &roc) != napi_ok) return throw_type(env, "roc must be a number");
  if (offset < RTP_HEADER_MIN || len > 65535 || (size_t)offset + 16 > len) {
    return throw_type(env, "payloadOffset must leave room for the 16-byte tag");
  }
  size_t payload_len = len - offset - 16;
  uint8_t iv[12];
  gcm_iv(s, packet, roc, iv);
  napi_value result;
  uint8_t *out = NULL;
  if (napi_create_buffer(env, len - 16, (void **)&out, &result) != napi_ok) return NULL;
  memcpy(out, packet, offset);
  int n = 0, fin = 0;
  int ok = EVP_DecryptInit_ex(s->cipher, NULL, NULL, NULL, iv) == 1 &&
           EVP_DecryptUpdate(s->cipher, NULL, &n, packet, (int)offset) == 1 &&
           EVP_DecryptUpdate(s->cipher, out + offset, &n, packet + offset, (int)payload_len) == 1 &&
           EVP_CIPHER_CTX_ctrl(s->cipher, EVP_CTRL_GCM_SET_TAG, 16, packet + len - 16) == 1 &&
           EVP_DecryptFinal_ex(s->cipher, out + offset + n, &fin) == 1;
  if (!ok) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    return undefined;
  }
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"session", NULL, create_session, NULL, NULL, NULL, napi_enumerable, NULL},
      {"destination", NULL, set_destination, NULL, NULL, NULL, napi_enumerable, NULL},
      {"protect", NULL, protect_packet, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, send_packet, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unprotect", NULL, unprotect_packet, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
