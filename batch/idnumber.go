package batch

import "healthcode"

// checkIDNumber checks an 18-character resident ID number with
// healthcode.CheckIDNumber. The error's detail is batch.id_checksum for a
// wrong check character, batch.id_number otherwise.
func checkIDNumber(s string) *healthcode.Error {
	err := healthcode.CheckIDNumber(s)
	if err == nil {
		return nil
	}
	if healthcode.ErrorDetail(err) == "id_number.checksum" {
		return healthcode.Errorfd(healthcode.EINVALID, "batch.id_checksum", "the check digit is wrong")
	}
	return healthcode.Errorfd(healthcode.EINVALID, "batch.id_number", "%s", healthcode.ErrorMessage(err))
}
