// Umbrella header for txoutbox::core.
#pragma once

#include "txoutbox/clock.hpp"
#include "txoutbox/envelope.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/file_publisher.hpp"
#include "txoutbox/identifier.hpp"
#include "txoutbox/key_gate.hpp"
#include "txoutbox/message.hpp"
#include "txoutbox/message_id.hpp"
#include "txoutbox/outbox_record.hpp"
#include "txoutbox/partition.hpp"
#include "txoutbox/publisher.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/store.hpp"
#include "txoutbox/sync_publisher.hpp"
#include "txoutbox/validation.hpp"
#include "txoutbox/version.hpp"
