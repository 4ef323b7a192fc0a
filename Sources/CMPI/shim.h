// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros over addresses of globals,
// which Swift cannot import: these functions hand them over.
#include <mpi.h>

static inline MPI_Comm minigpt_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype minigpt_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype minigpt_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype minigpt_mpi_int(void) { return MPI_INT; }
static inline MPI_Op minigpt_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op minigpt_mpi_min(void) { return MPI_MIN; }
static inline MPI_Op minigpt_mpi_max(void) { return MPI_MAX; }
static inline void *minigpt_mpi_in_place(void) { return MPI_IN_PLACE; }
