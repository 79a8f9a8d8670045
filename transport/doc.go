// Package transport holds what Chatter's transports share: the
// [FrameReader] that splits a byte stream into frames, used by
// transport/tcp and by codec.Reader (the conformance suite every adapter
// runs is in transport/transporttest). Transports move sealed frames only;
// they never see plaintext.
package transport
