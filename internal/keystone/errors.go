package keystone

import (
	"encoding/json"
	"errors"
	"net/http"
)

// ErrUnauthorized is wrapped by every authentication failure; the wrapping
// text says why (for logs), the client only ever sees a generic message.
var ErrUnauthorized = errors.New("unauthorized")

// errBadRequest marks request bodies that are malformed or miss fields;
// its message is safe to show to the client.
var errBadRequest = errors.New("bad request")

// unauthorizedMessage is Keystone's own text, which deliberately does not
// say whether the user, the password or the scope was wrong.
const unauthorizedMessage = "The request you have made requires authentication."

// errorBody is Keystone's error document.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    int    `json:"code"`
	Title   string `json:"title"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(errorBody{Error: errorDetail{
		Code:    code,
		Title:   http.StatusText(code),
		Message: message,
	}})
}
