// XEP-0004 Data Forms: the submit forms this package writes (XEP-0313 query
// filters, XEP-0060 publish-options), with the hidden FORM_TYPE field of
// XEP-0068.

package stanza

import (
	"strings"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// field is one form field; empty values are left out of the form.
type field struct {
	name, value string
}

// writeSubmitForm writes <x xmlns='jabber:x:data' type='submit'> with the
// hidden FORM_TYPE formType and every field that has a value.
func writeSubmitForm(b *strings.Builder, formType string, fields ...field) {
	b.WriteString("<x xmlns='" + NSData + "' type='submit'>")
	b.WriteString("<field var='FORM_TYPE' type='hidden'><value>" + frame.Escape(formType) + "</value></field>")
	for _, f := range fields {
		if f.value == "" {
			continue
		}
		b.WriteString("<field var='" + frame.Escape(f.name) + "'><value>" + frame.Escape(f.value) + "</value></field>")
	}
	b.WriteString("</x>")
}
