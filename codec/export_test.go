package codec

// Exports for the tests of package codec_test.

// DecodeBody decodes a body of the given kind into b.
func DecodeBody(kind Kind, p []byte, b *Body) error { return decodeBody(kind, p, b) }

// AppendBody appends the encoding of b and checks it against bodyLen.
func AppendBody(dst []byte, b *Body) ([]byte, int, error) {
	var e bodyEncoder
	n, err := e.bodyLen(b)
	if err != nil {
		return dst, 0, err
	}
	dst, err = e.appendBody(dst, b)
	return dst, n, err
}

// BodyEncoder encodes bodies as a Sealer does, reusing its scratch.
type BodyEncoder struct{ e bodyEncoder }

// Append appends the encoding of b to dst.
func (e *BodyEncoder) Append(dst []byte, b *Body) ([]byte, error) { return e.e.appendBody(dst, b) }
