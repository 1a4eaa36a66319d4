package console

import (
	"net/http"
	"net/url"
)

// passwordForm is where signed-in staff change their own password: the
// current one, the new one twice. The API checks the current one and the
// rules; the change ends every session of the user, this one too, so the
// page sends them to sign in with the new password.
func (s *Server) passwordForm(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, r, sess, http.StatusOK, "password", view{Title: "Change your password", Focus: "current"})
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, sess *session) {
	fail := func(status int, msg, focus string) {
		s.render(w, r, sess, status, "password", view{Title: "Change your password", Focus: focus, Error: msg})
	}
	if r.PostFormValue("password") != r.PostFormValue("repeat") {
		fail(http.StatusUnprocessableEntity, "New password: the two entries differ.", "password")
		return
	}
	api, ctx := s.apiFor(r.Context(), sess.User)
	err := api.Do(ctx, http.MethodPost, "/api/v1/staff/"+url.PathEscape(sess.User.Login)+"/password", nil, "",
		map[string]string{"password": r.PostFormValue("password"), "current_password": r.PostFormValue("current")}, nil)
	if err != nil {
		status, msg := s.apiProblem(r, "changing the password", err)
		focus := "password"
		if status == http.StatusForbidden {
			focus, msg = "current", "Current password: that is not your password now."
		}
		fail(status, msg, focus)
		return
	}
	s.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, s.p.path+"/signin?changed=1", http.StatusSeeOther)
}
